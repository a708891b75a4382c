"""The mask codec: pixel-exact RLE round trips, pycocotools agreement, clear errors."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from pycocotools import mask as cocomask

from annotations import masks

bitmaps = st.tuples(st.integers(1, 40), st.integers(1, 40)).flatmap(
    lambda hw: arrays(np.uint8, hw, elements=st.integers(0, 1))
)


@given(bitmaps)
@settings(max_examples=300, deadline=None)
def test_random_bitmaps_round_trip_pixel_exact(bitmap):
    rle = masks.encode(bitmap)
    assert isinstance(rle["counts"], str)
    assert rle["size"] == list(bitmap.shape)
    masks.validate(rle, height=bitmap.shape[0], width=bitmap.shape[1])
    assert np.array_equal(masks.decode(rle), bitmap)
    assert masks.area(rle) == int(bitmap.sum())


@given(bitmaps)
@settings(max_examples=100, deadline=None)
def test_bbox_is_the_tight_box_of_the_pixels(bitmap):
    x, y, w, h = masks.bbox(masks.encode(bitmap))
    ys, xs = np.nonzero(bitmap)
    if len(xs) == 0:
        assert (w, h) == (0, 0)
    else:
        assert (x, y, w, h) == (xs.min(), ys.min(), xs.max() - xs.min() + 1, ys.max() - ys.min() + 1)


polygons = st.lists(st.tuples(st.floats(0, 50, allow_nan=False), st.floats(0, 40, allow_nan=False)), min_size=3, max_size=12)


@given(polygons)
@settings(max_examples=150, deadline=None)
def test_polygon_rasterisation_agrees_with_pycocotools(points):
    flat = [v for point in points for v in point]
    ours = masks.decode(masks.from_polygons([flat], 40, 50))
    theirs = cocomask.decode(cocomask.merge(cocomask.frPyObjects([flat], 40, 50)))
    assert np.array_equal(ours, theirs)


def test_large_masks_with_long_runs_round_trip():
    bitmap = np.zeros((3000, 4000), np.uint8)
    bitmap[100:2900, 50:3950] = 1
    bitmap[1500, 2000] = 0
    assert np.array_equal(masks.decode(masks.encode(bitmap)), bitmap)


def test_uncompressed_rle_decodes():
    rle = {"size": [2, 3], "counts": [1, 2, 3]}
    assert masks.decode(rle).T.ravel().tolist() == [0, 1, 1, 0, 0, 0]


def test_union_and_subtract():
    a = np.zeros((10, 10), np.uint8)
    a[0:5, 0:5] = 1
    b = np.zeros((10, 10), np.uint8)
    b[3:8, 3:8] = 1
    assert np.array_equal(masks.decode(masks.union([masks.encode(a), masks.encode(b)])), a | b)
    assert np.array_equal(masks.decode(masks.subtract(masks.encode(a), masks.encode(b))), a & (1 - b))
    assert masks.iou(masks.encode(a), masks.encode(a)) == pytest.approx(1.0)


def test_to_polygons_outlines_a_rectangle_that_rasterises_back():
    bitmap = np.zeros((20, 30), np.uint8)
    bitmap[4:12, 6:20] = 1
    polys = masks.to_polygons(masks.encode(bitmap))
    assert len(polys) == 1
    back = masks.decode(masks.from_polygons(polys, 20, 30))
    assert masks.iou(masks.encode(back), masks.encode(bitmap)) > 0.85


@pytest.mark.parametrize(
    ("rle", "problem"),
    [
        ({"size": [4, 4]}, "'size' and 'counts'"),
        ({"size": [4], "counts": "0"}, "two positive integers"),
        ({"size": [0, 4], "counts": ""}, "two positive integers"),
        ({"size": [4, 4], "counts": "~~~"}, "outside the COCO alphabet"),
        ({"size": [4, 4], "counts": "52"}, "does not decode to 4x4"),
        ({"size": [4, 4], "counts": "o"}, "does not decode to 4x4"),  # truncated continuation
        ({"size": [4, 4], "counts": [1, 2]}, "summing to 16"),
        ({"size": [4, 4], "counts": 7}, "must be a string"),
    ],
)
def test_malformed_rle_gets_a_clear_error(rle, problem):
    with pytest.raises(masks.MaskError, match=problem):
        masks.decode(rle)


def test_size_mismatch_names_both_sizes():
    rle = masks.encode(np.ones((4, 5), np.uint8))
    with pytest.raises(masks.MaskError, match=r"4x5 .* 6x7"):
        masks.validate(rle, height=6, width=7)


def test_bad_polygons_are_refused():
    with pytest.raises(masks.MaskError, match="at least 3 points"):
        masks.from_polygons([[0, 0, 1, 1]], 5, 5)


@given(st.lists(bitmaps, min_size=1, max_size=20))
@settings(max_examples=100, deadline=None)
def test_many_masks_checked_at_once_get_pycocotools_area_and_bbox(bitmap_list):
    rles = [cocomask.encode(np.asfortranarray(b)) for b in bitmap_list]
    problems, areas, boxes = masks.counts_stats(
        [r["counts"] for r in rles], [b.shape[0] for b in bitmap_list], [b.shape[1] for b in bitmap_list],
    )
    assert problems == [None] * len(rles)
    assert areas == [int(cocomask.area(r)) for r in rles]
    assert boxes == [[int(v) for v in cocomask.toBbox(r)] for r in rles]


def test_a_batch_check_names_only_the_bad_masks():
    good = masks.encode(np.ones((4, 5), np.uint8))["counts"].encode()
    problems = masks.counts_problems([good, b"", good[:-1] + b"~", b"5"], [20, 20, 20, 20])
    assert problems[0] is None and all(problems[1:])


def _runs_as_pycocotools_reads_them(raw: bytes) -> list[int] | None:
    """rleFrString of pycocotools, one character at a time (the reference the vectorised check
    must agree with): None where it would read past the string or outside the alphabet."""
    runs: list[int] = []
    p = 0
    while p < len(raw):
        x = k = 0
        more = True
        while more:
            if p >= len(raw):
                return None  # a number cut off: pycocotools reads past the string's end
            c = raw[p] - 48
            if not 0 <= c <= 63:
                return None
            x |= (c & 0x1F) << (5 * k)
            more = bool(c & 0x20)
            p += 1
            k += 1
            if not more and c & 0x10:
                x |= -1 << (5 * k)
        if k > 12:
            return None  # over 60 bits
        if len(runs) > 2:
            x += runs[-2]
        runs.append(x)
    return runs


coco_characters = st.sampled_from(list(range(44, 116)))  # the alphabet ("0".."o") and a few outside it


@given(st.lists(st.tuples(st.lists(coco_characters, max_size=24), st.integers(1, 60)), min_size=1, max_size=12))
@settings(max_examples=400, deadline=None)
def test_the_batch_check_refuses_exactly_the_strings_pycocotools_cannot_read_as_the_mask(items):
    raws = [bytes(chars) for chars, _ in items]
    totals = [total for _, total in items]
    problems = masks.counts_problems(raws, totals)
    for raw, total, problem in zip(raws, totals, problems):
        runs = _runs_as_pycocotools_reads_them(raw)
        readable = bool(raw) and runs is not None and all(0 <= r <= total for r in runs) and sum(runs) == total
        assert (problem is None) == readable, (raw, total, problem, runs)


@given(st.lists(bitmaps, min_size=1, max_size=8), st.integers(0, 7), st.sampled_from(list(range(44, 116))))
@settings(max_examples=300, deadline=None)
def test_one_damaged_string_in_a_batch_leaves_the_others_area_and_bbox_exact(bitmap_list, which, character):
    rles = [cocomask.encode(np.asfortranarray(b)) for b in bitmap_list]
    raws = [r["counts"] for r in rles]
    which %= len(raws)
    damaged = bytearray(raws[which])
    damaged[len(damaged) // 2] = character
    raws[which] = bytes(damaged)
    problems, areas, boxes = masks.counts_stats(raws, [b.shape[0] for b in bitmap_list], [b.shape[1] for b in bitmap_list])
    for i, r in enumerate(rles):
        if i != which:
            assert problems[i] is None
            assert areas[i] == int(cocomask.area(r))
            assert boxes[i] == [int(v) for v in cocomask.toBbox(r)]
