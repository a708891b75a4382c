"""Train/val splits that are stable: an image's split depends only on its sha256, the seed and the fractions.

Adding or removing other images never moves an image to another split, so successive exports of a
growing project keep their validation images out of training.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass

from ..errors import ValidationFailed


@dataclass(frozen=True)
class Split:
    names: tuple[str, ...]
    bounds: tuple[float, ...]  # cumulative upper bounds in (0, 1]
    seed: int

    def of(self, sha256: str) -> str:
        digest = hashlib.sha256(f"{self.seed}:{sha256}".encode()).digest()
        u = int.from_bytes(digest[:8], "big") / 2**64  # uniform in [0, 1)
        for name, bound in zip(self.names, self.bounds):
            if u < bound:
                return name
        return self.names[-1]


def split_parse(spec: str | dict[str, float] | None, *, seed: int = 0) -> Split:
    """'train=0.8,val=0.2' (or a dict) -> Split; none means every image in 'train'."""
    if not spec:
        return Split(("train",), (1.0,), seed)
    if isinstance(spec, str):
        items: list[tuple[str, float]] = []
        for part in spec.split(","):
            name, sep, value = part.strip().partition("=")
            try:
                items.append((name.strip(), float(value)))
            except ValueError:
                raise ValidationFailed(f"split {part!r}: expected name=fraction, e.g. train=0.8,val=0.2") from None
            if not sep:
                raise ValidationFailed(f"split {part!r}: expected name=fraction, e.g. train=0.8,val=0.2")
    else:
        items = [(str(k), float(v)) for k, v in spec.items()]
    names = [n for n, _ in items]
    if any(not n.replace("_", "").replace("-", "").isalnum() for n in names) or len(set(names)) != len(names):
        raise ValidationFailed(f"split names must be distinct words (letters, digits, - or _), got {names}")
    if any(f <= 0 for _, f in items):
        raise ValidationFailed("split fractions must be positive")
    total = sum(f for _, f in items)
    if abs(total - 1.0) > 1e-6:
        raise ValidationFailed(f"split fractions must add up to 1, they add up to {total:g}")
    bounds, acc = [], 0.0
    for _, f in items:
        acc += f / total
        bounds.append(acc)
    bounds[-1] = 1.0
    return Split(tuple(names), tuple(bounds), seed)
