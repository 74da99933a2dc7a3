"""Small helpers shared by the model builders."""

from __future__ import annotations

__all__ = ["scaled", "make_divisible"]


def scaled(channels: int, width: float, multiple: int = 1) -> int:
    """`channels * width`, rounded to a positive multiple of `multiple` (for grouped convs)."""
    return max(multiple, int(round(channels * width / multiple)) * multiple)


def make_divisible(v: float, divisor: int, min_value: int | None = None) -> int:
    """torchvision's ``_make_divisible`` (from the TensorFlow MobileNet code): `v` rounded
    to the nearest multiple of `divisor`, at least `min_value` (default `divisor`), and
    never more than 10% below `v`."""
    if min_value is None:
        min_value = divisor
    new_v = max(min_value, int(v + divisor / 2) // divisor * divisor)
    if new_v < 0.9 * v:  # rounding down must not lose more than 10%
        new_v += divisor
    return new_v
