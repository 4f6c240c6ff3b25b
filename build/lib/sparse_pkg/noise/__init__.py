"""Noise for the robustness tests: pixel noise (MNIST), white and background noise (GSC)."""

from decimal import Decimal


def level_stream(level: float) -> int:
    """Random-stream index of a noise level, from its value (not its position in a config list),
    so adding or removing a level leaves every other level's noisy test set unchanged."""
    return int(round(float(level) * 1_000_000))


def level_name(level: float) -> str:
    """A noise level as written in file names and wildcards: the shortest decimal that reads
    back as the same float, never in exponent notation and never rounded.

    0.0 -> '0', 0.05 -> '0.05', 1e-05 -> '0.00001', 0.1234567 -> '0.1234567', 1.0 -> '1'.
    """
    text = format(Decimal(repr(float(level))), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text
