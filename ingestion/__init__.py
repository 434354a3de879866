"""Ingestion: samples from outside the collector (InfluxDB line protocol files) into the configured store."""

if __name__ != "pinger.ingestion":  # one module, one name: the folder is installed as pinger.ingestion
    raise ImportError(f"import pinger.ingestion, not {__name__}")
