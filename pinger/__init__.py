"""Pinger: how long the PCs of computer pools stay switched on, and what that costs."""

__version__ = "0.1.0"
