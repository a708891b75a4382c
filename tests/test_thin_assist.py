"""workers/thin.py: a thin curved object from a box and clicks by minimal paths, where GrabCut drowns it;
the measured choice between the two; and the refusals."""
from __future__ import annotations

import numpy as np
import pytest

from annotations.errors import ValidationFailed
from workers import thin
from workers.grabcut import Click, NoForeground, grabcut

from .assist_support import iou, thin_stripe, two_colour


@pytest.fixture(scope="module")
def stripe():
    return thin_stripe()


def test_clicks_along_a_thin_curved_stripe_give_its_mask_where_plain_grabcut_does_not(stripe):
    rgb, truth, box, points = stripe
    clicks = [Click(x, y, True) for x, y in points]
    assert iou(thin.thin_mask(rgb, box=box, clicks=clicks), truth) >= 0.85
    assert iou(grabcut(rgb, box=box, clicks=clicks), truth) < 0.85


def test_the_box_alone_finds_the_stripe(stripe):
    rgb, truth, box, _ = stripe
    assert iou(thin.thin_mask(rgb, box=box), truth) >= 0.85


def test_straight_lines_between_the_box_sides_and_the_clicks_instead_of_minimal_paths_miss_it(stripe, monkeypatch):
    """The minimal path is what follows the curve: the same tool with straight segments fails."""
    from skimage.draw import line

    def straight(cost, starts, ends):
        s = starts[0]
        e = min(ends, key=lambda p: (p[0] - s[0]) ** 2 + (p[1] - s[1]) ** 2)
        rows, cols = line(s[0], s[1], e[0], e[1])
        return list(zip(rows.tolist(), cols.tolist()))

    rgb, truth, box, points = stripe
    clicks = [Click(x, y, True) for x, y in points]
    monkeypatch.setattr(thin, "_path", straight)
    assert iou(thin.thin_mask(rgb, box=box, clicks=clicks), truth) < 0.85


def test_auto_takes_the_paths_for_a_thin_stripe_and_grabcut_for_a_disk(stripe):
    rgb, truth, box, _ = stripe
    assert thin.thin_score(rgb, box=box) >= thin.THIN_SCORE
    mask, method = thin.box_mask(rgb, box=box)
    assert method == "thin" and iou(mask, truth) >= 0.85
    disk_rgb, disk = two_colour()
    assert thin.thin_score(disk_rgb, box=(50, 25, 100, 100)) < thin.THIN_SCORE
    mask, method = thin.box_mask(disk_rgb, box=(50, 25, 100, 100))
    assert method == "grabcut" and np.array_equal(mask, grabcut(disk_rgb, box=(50, 25, 100, 100)))
    mask, method = thin.box_mask(disk_rgb, box=(50, 25, 100, 100), method="grabcut")
    assert method == "grabcut"


def test_a_negative_click_takes_its_disk_out_and_the_path_goes_around_it(stripe):
    rgb, truth, box, points = stripe
    x, y = points[1]
    got = thin.thin_mask(rgb, box=box, clicks=[Click(x, y, False)])
    assert not got[y, x]
    assert iou(got, truth) > 0.8  # the rest of the stripe stays


def test_a_positive_click_outside_the_box_grows_it(stripe):
    rgb, truth, (bx, by, bw, bh), points = stripe
    x, y = points[-1]
    got = thin.thin_mask(rgb, box=(bx, by, x - 20 - bx, bh), clicks=[Click(x, y, True)])
    assert got[y, x] and not got[:, x + 1:].any()


def test_a_box_too_small_for_a_path_is_refused_as_zero_length(stripe):
    rgb, *_ = stripe
    with pytest.raises(ValidationFailed, match="zero length"):
        thin.thin_mask(rgb, box=(100, 100, 5, 5))
    with pytest.raises(ValidationFailed, match="zero length"):
        thin.thin_score(rgb, box=(100, 100, 5, 5))


def test_a_single_colour_box_says_no_foreground_found():
    with pytest.raises(NoForeground, match="no foreground found"):
        thin.thin_mask(np.full((80, 100, 3), 90, np.uint8), box=(10, 10, 60, 40))


def test_a_tall_narrow_box_is_followed_from_its_top_to_its_bottom():
    rgb, truth, (bx, by, bw, bh), _ = thin_stripe(amplitude=8)
    tall_rgb, tall_truth = np.ascontiguousarray(rgb.transpose(1, 0, 2)), truth.T
    mask, method = thin.box_mask(tall_rgb, box=(by, bx, bh, bw))
    assert method == "thin" and iou(mask, tall_truth) >= 0.85
