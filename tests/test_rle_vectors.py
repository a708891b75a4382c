"""COCO compressed RLE test vectors shared with the TypeScript codec.

The editor's codec (frontend/src/rle.ts) must produce the very strings pycocotools produces.
This module builds assorted bitmaps from a fixed seed, encodes them with pycocotools and checks
that the checked-in frontend/tests/vectors/rle_vectors.json holds exactly those answers; the
Vitest suite then checks the TS codec against the same file.

Regenerate after changing the cases:  .venv/bin/python tests/test_rle_vectors.py --write
"""

from __future__ import annotations

import base64
import json
import sys
from pathlib import Path

import numpy as np
from pycocotools import mask as mask_utils

VECTORS_PATH = Path(__file__).resolve().parent.parent / "frontend" / "tests" / "vectors" / "rle_vectors.json"


def _cases() -> list[tuple[str, np.ndarray]]:
    rng = np.random.default_rng(20240605)
    cases: list[tuple[str, np.ndarray]] = [
        ("1x1 background", np.zeros((1, 1), np.uint8)),
        ("1x1 foreground", np.ones((1, 1), np.uint8)),
        ("empty 5x7", np.zeros((5, 7), np.uint8)),
        ("full 6x4", np.ones((6, 4), np.uint8)),
        ("single row 1x37", (rng.random((1, 37)) < 0.5).astype(np.uint8)),
        ("single column 41x1", (rng.random((41, 1)) < 0.5).astype(np.uint8)),
    ]
    for h, w, p in [(3, 7, 0.5), (13, 17, 0.3), (31, 29, 0.8), (64, 65, 0.5), (7, 120, 0.05), (99, 3, 0.95)]:
        cases.append((f"random {h}x{w} p={p}", (rng.random((h, w)) < p).astype(np.uint8)))
    # Long runs: more than 2^16 background pixels before and after, and a foreground run over 2^16.
    long_bg = np.zeros((300, 400), np.uint8)
    long_bg[120:200, 250:330] = 1
    cases.append(("long background runs 300x400", long_bg))
    long_fg = np.ones((257, 301), np.uint8)
    long_fg[100:110, 0:3] = 0
    cases.append(("long foreground run 257x301", long_fg))
    full_big = np.ones((300, 300), np.uint8)
    cases.append(("full 300x300", full_big))
    # Blobs: the shape of real instance masks (few runs per column, big jumps between deltas).
    yy, xx = np.mgrid[0:211, 0:173]
    blobs = np.zeros((211, 173), np.uint8)
    for _ in range(6):
        cy, cx, r = rng.integers(0, 211), rng.integers(0, 173), rng.integers(5, 40)
        blobs |= ((yy - cy) ** 2 + (xx - cx) ** 2 <= r * r).astype(np.uint8)
    cases.append(("blobs 211x173", blobs))
    stripes = np.zeros((50, 70), np.uint8)
    stripes[:, ::2] = 1
    cases.append(("vertical stripes 50x70", stripes))
    corner = np.zeros((1000, 90), np.uint8)
    corner[-1, -1] = 1
    cases.append(("last pixel only 1000x90", corner))
    return cases


def _vector(name: str, bitmap: np.ndarray) -> dict:
    rle = mask_utils.encode(np.asfortranarray(bitmap))
    h, w = bitmap.shape
    return {
        "name": name,
        "size": [int(h), int(w)],
        # Row-major bits, packed MSB-first (numpy.packbits), base64: compact and easy to unpack in TS.
        "bits": base64.b64encode(np.packbits(bitmap.reshape(-1))).decode("ascii"),
        "area": int(bitmap.sum()),
        "counts": rle["counts"].decode("ascii"),
    }


def build_vectors() -> list[dict]:
    return [_vector(name, bitmap) for name, bitmap in _cases()]


def test_checked_in_vectors_match_pycocotools() -> None:
    stored = json.loads(VECTORS_PATH.read_text())
    assert stored == build_vectors(), "run: python tests/test_rle_vectors.py --write"


def test_vectors_decode_back_with_pycocotools() -> None:
    for vector in json.loads(VECTORS_PATH.read_text()):
        h, w = vector["size"]
        bits = np.unpackbits(np.frombuffer(base64.b64decode(vector["bits"]), np.uint8))[: h * w].reshape(h, w)
        decoded = mask_utils.decode({"size": [h, w], "counts": vector["counts"].encode("ascii")})
        assert np.array_equal(decoded, bits), vector["name"]


if __name__ == "__main__":
    if "--write" in sys.argv:
        VECTORS_PATH.parent.mkdir(parents=True, exist_ok=True)
        VECTORS_PATH.write_text(json.dumps(build_vectors(), indent=1) + "\n")
        print(f"wrote {VECTORS_PATH}")
