"""Noise for the robustness tests: pixel noise (MNIST), white and background noise (GSC)."""


def level_stream(level: float) -> int:
    """Random-stream index of a noise level, from its value (not its position in a config list),
    so adding or removing a level leaves every other level's noisy test set unchanged."""
    return int(round(float(level) * 1_000_000))
