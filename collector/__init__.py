"""The collector daemon: targets, ICMP sweeps, the schedule loop, writing samples."""
