"""The nightly job: samples -> per-host and per-pool daily rows, backfill, CSV export."""

if __name__ != "pinger.aggregator":  # one module, one name: the folder is installed as pinger.aggregator
    raise ImportError(f"import pinger.aggregator, not {__name__}")
