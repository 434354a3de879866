"""The nightly job: samples -> per-host and per-pool daily rows, backfill, CSV export."""
