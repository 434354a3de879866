"""The collector daemon: targets, ICMP sweeps, the schedule loop, writing samples."""

if __name__ != "pinger.collector":  # one module, one name: the folder is installed as pinger.collector
    raise ImportError(f"import pinger.collector, not {__name__}")
