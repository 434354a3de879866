"""The durable outbox: order, removal only on acknowledgement, rejected batches kept, the size bound."""

from __future__ import annotations

import pytest

from pinger.errors import SpoolFull
from pinger.store.spool import Spool


def test_batches_come_back_in_order_and_leave_only_when_removed(tmp_path):
    spool = Spool(tmp_path / "s.sqlite", max_bytes=10**6)
    ids = [
        spool.append("pinger", [f"ping,pool=A,host=h{i} up=1i {i}", f"pool_status,pool=A online=1i {i}"])
        for i in range(5)
    ]
    assert spool.backlog() == 5
    batches = spool.oldest(max_points=5)  # 2 points each: two batches fit, a third would pass 5
    assert [b.id for b in batches] == ids[:2] and batches[0].points == 2
    assert batches[0].lines.splitlines()[0] == "ping,pool=A,host=h0 up=1i 0"
    spool.remove([b.id for b in batches])
    assert [b.id for b in spool.oldest(max_points=100)] == ids[2:]
    assert [b.id for b in spool.oldest(max_points=1)] == [ids[2]]  # at least one batch, even if larger
    spool.close()
    reopened = Spool(tmp_path / "s.sqlite", max_bytes=10**6)  # what was committed survives a restart
    assert reopened.backlog() == 3


def test_a_rejected_batch_moves_aside_with_its_reason(tmp_path):
    spool = Spool(tmp_path / "s.sqlite", max_bytes=10**6)
    spool.append("pinger", ["bad line"])
    good = spool.append("pinger", ["ping,pool=A,host=h up=1i 1"])
    spool.reject(spool.oldest(1)[0], "400 unable to parse")
    assert spool.rejected_count() == 1 and [b.id for b in spool.oldest(10)] == [good]


def test_the_size_bound_refuses_with_a_clear_message(tmp_path):
    spool = Spool(tmp_path / "s.sqlite", max_bytes=100)
    spool.append("pinger", ["x" * 60])
    with pytest.raises(SpoolFull, match=r"its bound \(storage.influxdb.spool_max\)"):
        spool.append("pinger", ["y" * 60])
    assert spool.backlog() == 1  # what was there is untouched


def test_append_all_keeps_all_batches_or_none(tmp_path):
    spool = Spool(tmp_path / "spool.sqlite", 10**6)
    spool.append("pinger", ["m v=0i 0"])

    def batches_then_failure():
        yield ["m v=1i 1", "m v=2i 2"]
        yield ["m v=3i 3"]
        raise ValueError("line 4 is malformed")

    with pytest.raises(ValueError, match="line 4"):
        spool.append_all("pinger", batches_then_failure())
    assert spool.backlog() == 1  # only what was there before
    assert spool.append_all("pinger", iter([["m v=1i 1", "m v=2i 2"], ["m v=3i 3"]])) == 3
    assert [batch.points for batch in spool.oldest(100)] == [1, 2, 1]
    with pytest.raises(SpoolFull):
        spool.append_all("pinger", iter([["x" * 600_000], ["y" * 600_000]]))
    assert spool.backlog() == 3
