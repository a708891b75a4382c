"""Splits are stable by image hash; the VOC colour map and labelmap.txt are the standard ones."""
from __future__ import annotations

import hashlib

import pytest

from annotations.errors import ValidationFailed
from annotations.formats.palette import VOC_COLORMAP, labelmap_parse, labelmap_text, standard_labelmap
from annotations.formats.split import split_parse


def shas(n):
    return [hashlib.sha256(str(i).encode()).hexdigest() for i in range(n)]


def test_an_images_split_depends_only_on_its_hash_and_the_seed():
    split = split_parse("train=0.8,val=0.2", seed=3)
    first = {s: split.of(s) for s in shas(2000)}
    again = split_parse("train=0.8,val=0.2", seed=3)
    assert all(again.of(s) == name for s, name in first.items())
    share = sum(1 for v in first.values() if v == "val") / len(first)
    assert 0.16 < share < 0.24


def test_another_seed_gives_another_split():
    a, b = split_parse("train=0.5,val=0.5", seed=1), split_parse("train=0.5,val=0.5", seed=2)
    assert any(a.of(s) != b.of(s) for s in shas(50))


def test_no_split_puts_everything_in_train():
    assert {split_parse(None).of(s) for s in shas(20)} == {"train"}


@pytest.mark.parametrize("spec", ["train=0.8,val=0.3", "train", "train=x", "train=1,train=0", "a b=1", "train=-1,val=2"])
def test_bad_splits_are_refused(spec):
    with pytest.raises(ValidationFailed):
        split_parse(spec)


def test_the_colour_map_is_the_voc_devkits():
    assert VOC_COLORMAP[:4] == [(0, 0, 0), (128, 0, 0), (0, 128, 0), (128, 128, 0)]
    assert VOC_COLORMAP[15] == (192, 128, 128)  # person
    assert VOC_COLORMAP[255] == (224, 224, 192)  # void
    assert standard_labelmap()[(192, 128, 128)] == "person"


def test_labelmap_round_trips():
    text = labelmap_text(["car", "road"])
    assert "car:128,0,0::" in text
    assert labelmap_parse(text) == {(0, 0, 0): "background", (128, 0, 0): "car", (0, 128, 0): "road"}
