"""How Pinger writes a figure as text in its CSV files: the export's layouts and the report's tables alike."""

from __future__ import annotations


def format_value(value: object, decimal: str = ".") -> str:
    """Empty for None, integers as they are, floats with at most 6 decimals (no trailing zeros)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(int(value))
    if isinstance(value, float):
        text = f"{value:.6f}".rstrip("0").rstrip(".")
        text = "0" if text in ("-0", "") else text
        return text.replace(".", decimal)
    return str(value)
