"""pinger.output.write_text writes to what the user named: a regular file atomically, a device, FIFO or
symlink in place, standard output for None or "-", never a directory; failures are one sentence.

The device tests use device nodes made with mknod in the test's own directory (the same devices as
/dev/null and /dev/full): a regression must never turn the machine's /dev/null into a regular file.
"""

from __future__ import annotations

import datetime as dt
import io
import os
import pwd
import resource
import signal
import stat
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from pinger.errors import OutputError, PingerError
from pinger.output import write_text

TEXT = "date,pool\r\n2026-11-02,Mensa Süd\r\n"


@pytest.fixture
def umask_022() -> Iterator[None]:
    previous = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(previous)


def device(tmp_path: Path, name: str, minor: int) -> Path:
    """A character device node for the memory device (1, minor): 3 is null, 7 is full."""
    path = tmp_path / name
    try:
        os.mknod(path, 0o666 | stat.S_IFCHR, os.makedev(1, minor))
        os.close(os.open(path, os.O_WRONLY))  # EACCES on a file system mounted nodev
    except PermissionError:
        if os.geteuid() == 0:
            pytest.skip("no usable device node here, and as root the real devices could be replaced")
        if path.exists():
            path.unlink()
        return Path(f"/dev/{name}")  # safe without root: a regression cannot rename over /dev's entries
    return path


def leftovers(directory: Path, *expected: str) -> set[str]:
    """Names in directory other than the expected ones (temporary files would show here)."""
    return set(os.listdir(directory)) - set(expected)


def in_child(
    action: Callable[[], None], *, cwd: Path, unprivileged: bool = False, file_size_limit: int | None = None
) -> str:
    """Run action in a forked child (as user nobody when root and unprivileged); return "ok" or
    "ClassName: message" of what it raised."""
    account = None
    if unprivileged and os.geteuid() == 0:
        try:
            account = pwd.getpwnam("nobody")
        except KeyError:
            pytest.skip("no user nobody to drop root's privileges to")
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns into pytest
        try:
            os.close(read_end)
            os.chdir(cwd)  # relative paths start here: no search right on the folders above is needed
            if file_size_limit is not None:
                signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG
                resource.setrlimit(resource.RLIMIT_FSIZE, (file_size_limit, file_size_limit))
            if account is not None:
                os.setgroups([])
                os.setgid(account.pw_gid)
                os.setuid(account.pw_uid)
            try:
                action()
                outcome = "ok"
            except BaseException as err:  # noqa: B036 - reported to the parent, whatever it is
                outcome = f"{type(err).__name__}: {err}"
            os.write(write_end, outcome.encode())
        finally:
            os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as pipe:
        outcome = pipe.read().decode()
    os.waitpid(pid, 0)
    return outcome


# --- what the user named decides how it is written ---------------------------------------------------------


def test_dev_null_stays_a_character_device(tmp_path):
    null = device(tmp_path, "null", 3)
    before = os.lstat(null)
    write_text(str(null), TEXT)
    after = os.lstat(null)
    assert stat.S_ISCHR(after.st_mode) and after.st_rdev == before.st_rdev and after.st_ino == before.st_ino
    assert leftovers(tmp_path, "null") == set()


def test_dev_full_is_one_sentence_naming_the_file(tmp_path):
    full = device(tmp_path, "full", 7)
    with pytest.raises(OutputError) as raised:
        write_text(str(full), TEXT)
    assert str(raised.value) == f"cannot write {full}: no space left on device"
    assert isinstance(raised.value, PingerError) and raised.value.exit_code == 1
    assert stat.S_ISCHR(os.lstat(full).st_mode)
    assert leftovers(tmp_path, "full") == set()


def test_a_symlink_stays_a_symlink_and_its_target_gets_the_text(tmp_path):
    (tmp_path / "data").mkdir()
    target = tmp_path / "data" / "daily.csv"
    target.write_text("old\n")
    link = tmp_path / "latest.csv"
    link.symlink_to("data/daily.csv")
    write_text(str(link), TEXT)
    assert link.is_symlink() and os.readlink(link) == "data/daily.csv"
    assert target.read_bytes() == TEXT.encode()
    assert leftovers(tmp_path, "data", "latest.csv") == set() and leftovers(tmp_path / "data", "daily.csv") == set()


def test_a_dangling_symlink_gets_its_target_created(tmp_path, umask_022):
    (tmp_path / "data").mkdir()
    link = tmp_path / "latest.csv"
    link.symlink_to("data/daily.csv")
    write_text(str(link), TEXT)
    assert link.is_symlink()
    target = tmp_path / "data" / "daily.csv"
    assert target.read_bytes() == TEXT.encode()
    assert stat.S_IMODE(target.stat().st_mode) == 0o644


def test_a_dangling_symlink_into_a_missing_directory_is_one_sentence(tmp_path):
    link = tmp_path / "latest.csv"
    link.symlink_to("nowhere/daily.csv")
    with pytest.raises(OutputError) as raised:
        write_text(str(link), TEXT)
    assert str(raised.value) == f"cannot write {link} (a link to nowhere/daily.csv): no such file or directory"
    assert link.is_symlink() and not (tmp_path / "nowhere").exists()


def test_a_fifo_gets_the_text(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    os.link(fifo, tmp_path / "pipe.keep")  # a second name, to unblock the reader if the FIFO's name is taken
    text = "x" * 300_000 + "\n"  # more than a pipe holds: the writer must write while the reader reads
    received: list[bytes] = []

    def read() -> None:
        with open(fifo, "rb") as reader:
            received.append(reader.read())

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        write_text(str(fifo), text)
        reader.join(timeout=10)
    finally:
        if reader.is_alive():  # still waiting for a writer on the FIFO: give it one, so it ends
            os.close(os.open(tmp_path / "pipe.keep", os.O_WRONLY | os.O_NONBLOCK))
            reader.join(timeout=10)
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    assert received == [text.encode()]
    assert leftovers(tmp_path, "pipe", "pipe.keep") == set()


def test_a_directory_is_refused(tmp_path):
    directory = tmp_path / "out"
    directory.mkdir()
    with pytest.raises(OutputError) as raised:
        write_text(str(directory), TEXT)
    assert str(raised.value) == f"cannot write {directory}: it is a directory"
    assert directory.is_dir() and os.listdir(directory) == []
    assert leftovers(tmp_path, "out") == set()


def test_a_name_ending_in_a_slash_is_refused(tmp_path):
    name = f"{tmp_path / 'out'}{os.sep}"
    with pytest.raises(OutputError) as raised:
        write_text(name, TEXT)
    assert str(raised.value) == f"cannot write {name}: a file name cannot end with {os.sep}"
    assert os.listdir(tmp_path) == []


def test_an_empty_name_is_refused(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(OutputError) as raised:
        write_text("", TEXT)
    assert str(raised.value) == "cannot write to an empty file name"


def test_dash_and_none_mean_standard_output(tmp_path, monkeypatch, capfdbinary):
    monkeypatch.chdir(tmp_path)
    write_text("-", TEXT)
    write_text(None, TEXT)
    assert capfdbinary.readouterr().out == TEXT.encode() * 2  # UTF-8, line ends as given
    assert os.listdir(tmp_path) == []  # no file named "-"


def test_standard_output_that_cannot_be_written_is_one_sentence(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # were "-" taken for a file name, it lands here
    full = device(tmp_path, "full", 7)
    monkeypatch.setattr(sys, "stdout", io.TextIOWrapper(open(full, "wb")))
    with pytest.raises(OutputError) as raised:
        write_text("-", TEXT)
    assert str(raised.value) == "cannot write standard output: no space left on device"


def test_a_closed_pipe_on_standard_output_stays_a_broken_pipe(monkeypatch):
    read_end, write_end = os.pipe()
    os.close(read_end)
    monkeypatch.setattr(sys, "stdout", io.TextIOWrapper(os.fdopen(write_end, "wb")))
    with pytest.raises(BrokenPipeError):  # the command line ends quietly on it: `pinger export | head`
        write_text(None, TEXT)


# --- regular files: atomic, with the right mode, nothing left behind ----------------------------------------


def test_a_new_file_gets_the_umask_mode(tmp_path, umask_022):
    path = tmp_path / "daily.csv"
    write_text(str(path), TEXT)
    assert path.read_bytes() == TEXT.encode()
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
    os.umask(0o027)
    other = tmp_path / "other.csv"
    write_text(str(other), TEXT)
    assert stat.S_IMODE(other.stat().st_mode) == 0o640
    assert leftovers(tmp_path, "daily.csv", "other.csv") == set()


def test_replacing_a_file_keeps_its_mode(tmp_path, umask_022):
    path = tmp_path / "daily.csv"
    path.write_text("old\n")
    path.chmod(0o664)
    write_text(str(path), TEXT)
    assert path.read_bytes() == TEXT.encode()
    assert stat.S_IMODE(path.stat().st_mode) == 0o664
    assert leftovers(tmp_path, "daily.csv") == set()


def test_a_missing_parent_directory_is_created(tmp_path, umask_022):
    path = tmp_path / "out" / "2026" / "daily.csv"
    write_text(str(path), TEXT)
    assert path.read_bytes() == TEXT.encode()
    assert leftovers(tmp_path / "out" / "2026", "daily.csv") == set()


def test_a_failed_write_keeps_the_previous_file_and_leaves_no_temporary(tmp_path):
    path = tmp_path / "daily.csv"
    path.write_text("old\n")
    big = "y" * 100_000
    outcome = in_child(lambda: write_text("daily.csv", big), cwd=tmp_path, file_size_limit=50_000)
    assert outcome == "OutputError: cannot write daily.csv: file too large"
    assert path.read_text() == "old\n"
    assert leftovers(tmp_path, "daily.csv") == set()


@pytest.mark.parametrize("existing", [False, True], ids=["new file", "existing file"])
def test_a_read_only_directory_is_one_sentence(tmp_path, existing):
    work = tmp_path / "work"  # the child's working directory: nobody may search it (tmp_path is 0700)
    work.mkdir(mode=0o755)
    directory = work / "ro"
    directory.mkdir()
    if existing:
        (directory / "daily.csv").write_text("old\n")
        (directory / "daily.csv").chmod(0o666)  # writable in place, but the directory takes no new file
    if os.geteuid() == 0:
        nobody = pwd.getpwnam("nobody")
        os.chown(directory, nobody.pw_uid, nobody.pw_gid)
    directory.chmod(0o555)
    try:
        outcome = in_child(lambda: write_text("ro/daily.csv", TEXT), cwd=work, unprivileged=True)
    finally:
        directory.chmod(0o755)
    assert outcome == "OutputError: cannot write ro/daily.csv: cannot create a file in ro: permission denied"
    assert os.listdir(directory) == (["daily.csv"] if existing else [])
    if existing:
        assert (directory / "daily.csv").read_text() == "old\n"


def test_a_temporary_name_that_is_taken_is_not_reused(tmp_path, monkeypatch):
    """The temporary file is created exclusively: a name that exists (even a link) is never written through."""
    import pinger.output

    bait = tmp_path / "bait"
    bait.write_text("keep\n")
    names = iter(["taken", "free"])
    monkeypatch.setattr(pinger.output, "_random_suffix", lambda: next(names))
    (tmp_path / ".daily.csv.taken.tmp").symlink_to(bait)
    write_text(str(tmp_path / "daily.csv"), TEXT)
    assert bait.read_text() == "keep\n"
    assert (tmp_path / "daily.csv").read_bytes() == TEXT.encode()
    assert leftovers(tmp_path, "daily.csv", "bait", ".daily.csv.taken.tmp") == set()


# --- through the command line --------------------------------------------------------------------------------


class EmptyStore:
    def pool_days(self, first: dt.date, last: dt.date, pools: object) -> list[object]:
        return []

    def first_sample_time(self) -> int | None:
        return None

    def last_sample_time(self) -> int | None:
        return None

    def close(self) -> None:
        pass


@pytest.fixture
def export_cli(write_config, tmp_path, monkeypatch):
    """Run `pinger export` in-process over a store with no rows (the header alone is written)."""
    import pinger.aggregator.export
    from pinger.cli import main

    monkeypatch.setattr(pinger.aggregator.export, "open_history_store", lambda *args: EmptyStore())
    config = write_config(f"""
        timezone: UTC
        storage: {{path: {tmp_path / "s.sqlite"}}}
        pools:
          - name: A
            watts: 100
            hosts: [127.0.0.1]
    """)

    def run(output: str) -> int:
        return main(["export", "-c", str(config), "--from", "2026-11-02", "--to", "2026-11-02", "-o", output])

    return run


def test_export_to_dev_full_exits_1_with_one_sentence(export_cli, tmp_path, capsys):
    full = device(tmp_path, "full", 7)
    assert export_cli(str(full)) == 1
    assert capsys.readouterr().err.splitlines()[-1] == f"pinger: cannot write {full}: no space left on device"
    assert stat.S_ISCHR(os.lstat(full).st_mode)


def test_export_to_dev_null_and_a_symlink(export_cli, tmp_path, capsys):
    null = device(tmp_path, "null", 3)
    assert export_cli(str(null)) == 0
    assert stat.S_ISCHR(os.lstat(null).st_mode)
    target = tmp_path / "daily.csv"
    (tmp_path / "link.csv").symlink_to(target)
    assert export_cli(str(tmp_path / "link.csv")) == 0
    assert (tmp_path / "link.csv").is_symlink() and target.read_text().startswith("date,pool,")
