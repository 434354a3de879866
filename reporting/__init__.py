"""The study's answer: phases and pools compared from the daily pool rows (``pinger report``)."""

if __name__ != "pinger.reporting":  # one module, one name: the folder is installed as pinger.reporting
    raise ImportError(f"import pinger.reporting, not {__name__}")
