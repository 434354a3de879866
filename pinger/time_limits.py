"""The times a sample read from a file may carry: both importers (``pinger import`` of line protocol and
``pinger import-legacy`` of the first system's dump) refuse a time outside them as implausible."""

from __future__ import annotations

EARLIEST_S = 946_684_800  # 2000-01-01T00:00:00Z: no sample is older (Pinger did not exist)
FUTURE_SLACK_S = 86_400  # a sample may be stamped up to a day ahead of this host's clock
