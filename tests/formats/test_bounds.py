"""Bounded imports: what an archive declares is checked before anything is read, written or decoded,
the first N problems stop the work, polygon coordinates that crash pycocotools never reach it,
and the COCO reader streams (memory does not follow the number of annotations). Every refusal
names the file and the problem and changes nothing."""
from __future__ import annotations

import json
import tracemalloc
import zipfile

import numpy as np
import pytest

from annotations import ingest, masks
from annotations.dataset_imports import dataset_import
from annotations.errors import ValidationFailed

from ..conftest import png_bytes
from .conftest import H, W, rect
from .test_import import coco, make_zip, snapshot

pytestmark = pytest.mark.django_db


def refused(project, owner, settings, archive, *, fmt="coco") -> ValidationFailed:
    before = snapshot(project, settings)
    with pytest.raises(ValidationFailed) as caught:
        dataset_import(project=project, user=owner, archive=archive, format=fmt, make_thumbnails=False)
    assert snapshot(project, settings) == before
    return caught.value


def test_an_image_declared_larger_than_the_pixel_limit_is_refused_before_any_mask_is_decoded(project, owner, car, settings, monkeypatch):
    monkeypatch.setattr(masks, "decode", lambda *a: pytest.fail("a mask was decoded"))
    archive = make_zip({"annotations/instances_default.json": coco(
        [{"id": 1, "image_id": 1, "category_id": 7, "segmentation": {"size": [20000, 20000], "counts": "0"}}],
        images=[{"id": 1, "file_name": "huge.png", "width": 20000, "height": 20000}],
    )})
    assert len(archive.getvalue()) < 1000
    error = refused(project, owner, settings, archive)
    assert "annotations/instances_default.json: image 1 (huge.png) declares 20000x20000 pixels, over the limit of 100000000" in error.message


def test_masks_are_checked_against_the_real_image_not_only_what_the_json_declares(project, owner, car, settings):
    archive = make_zip({"images/a.png": png_bytes(W, H), "annotations/instances_default.json": coco(
        [{"id": 1, "image_id": 1, "category_id": 7, "segmentation": masks.encode(np.ones((2 * H, 2 * W), np.uint8))}],
        images=[{"id": 1, "file_name": "a.png", "width": 2 * W, "height": 2 * H}],
    )})
    error = refused(project, owner, settings, archive)
    assert f"mask size {2 * H}x{2 * W} (h x w) for a.png differs from images/a.png, which is {H}x{W}" in error.message


def test_an_honest_member_over_the_size_limit_is_refused_before_a_byte_is_written(project, owner, car, settings, monkeypatch):
    settings.LABELER_IMPORT_MAX_MEMBER_BYTES = 1 << 20
    monkeypatch.setattr(ingest.Staging, "stage_small", lambda *a: pytest.fail("the member was staged"))
    noise = np.random.default_rng(0).integers(0, 255, size=2 << 20, dtype=np.uint8).tobytes()  # does not compress
    error = refused(project, owner, settings, make_zip({"images/a.png": noise, "annotations/instances_default.json": coco([])}))
    assert error.message.startswith(f"images/a.png: declares {2 << 20} bytes uncompressed, over the limit of {1 << 20} for one entry")


@pytest.mark.parametrize("member", ["images/a.png", "annotations/instances_default.json"])
def test_a_member_that_declares_far_more_than_it_compresses_to_is_refused_unread(project, owner, car, settings, member):
    # 20 MB of zeros in a 20 KB entry: real images and COCO files compress 1-10x, never 1000x
    members = {"images/a.png": png_bytes(W, H), "annotations/instances_default.json": coco([])}
    members[member] = b" " * (20 << 20) if member.endswith(".json") else bytes(20 << 20)
    error = refused(project, owner, settings, make_zip(members))
    assert error.message.startswith(f"{member}: ") and "(over 100x: a zip bomb?)" in error.message


def test_an_archive_with_more_entries_than_the_limit_is_refused_before_they_are_listed(project, owner, car, settings, monkeypatch):
    settings.LABELER_IMPORT_MAX_ENTRIES = 50
    monkeypatch.setattr(zipfile.ZipFile, "_RealGetContents", lambda self: pytest.fail("the central directory was read"))
    members = {f"junk/{i}.txt": "x" for i in range(60)}
    error = refused(project, owner, settings, make_zip(members))
    assert error.message == "the archive has 60 entries, over the limit of 50; nothing was imported"


def test_an_image_upload_zip_of_junk_stops_at_the_first_20_problems(project, owner, settings, owner_api):
    junk = make_zip({f"junk/{i:05d}.png": b"not an image" for i in range(2000)})
    before = snapshot(project, settings)
    response = owner_api.post(f"/api/projects/{project.pk}/images/", {"archive": junk}, format="multipart")
    assert response.status_code == 400
    body = response.json()
    assert len(response.content) < 6000
    assert body["message"].startswith("the upload was refused, nothing was imported (stopped at the first 20 problems): junk/00000.png: not an image")
    assert body["extra"]["error_count"] == 20 and body["extra"]["stopped"] is True
    assert snapshot(project, settings) == before


def test_image_upload_zips_have_the_same_entry_limit(project, settings):
    settings.LABELER_IMPORT_MAX_ENTRIES = 10
    with pytest.raises(ValidationFailed, match="the archive has 11 entries, over the limit of 10"):
        ingest.images_import(project=project, user=None, zip_file=make_zip({f"{i}.png": png_bytes(4, 4) for i in range(11)}))


def test_a_dataset_with_many_bad_annotations_reports_the_first_20_and_says_it_stopped(project, owner, car, settings):
    bad = [{"id": i, "image_id": 1, "category_id": 99, "segmentation": [[0, 0, 4, 0, 4, 4]]} for i in range(500)]
    error = refused(project, owner, settings, make_zip({"images/a.png": png_bytes(W, H), "annotations/instances_default.json": coco(bad)}))
    assert "(stopped at the first 20 problems)" in error.message and len(error.extra["errors"]) == 20
    assert error.extra["errors"][0] == "annotations/instances_default.json: annotation 0 on image a.png: unknown category id 99"


@pytest.mark.parametrize("value", [1e9, 1e300, -1e9])
def test_polygon_coordinates_far_outside_the_image_are_refused_before_pycocotools(project, owner, car, settings, value):
    polygon = [[0, 0, value, 0, value, 4, 0, 4]]
    archive = make_zip({"images/a.png": png_bytes(W, H), "annotations/instances_default.json": coco(
        [{"id": 3, "image_id": 1, "category_id": 7, "segmentation": polygon}])})
    error = refused(project, owner, settings, archive)
    assert "annotations/instances_default.json: annotation 3 on image a.png: polygon 0: coordinates must lie within the 64x48 image" in error.message


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity", "1e400"])
def test_nan_and_infinite_coordinates_in_a_coco_file_are_refused_as_invalid_json(project, owner, car, settings, literal):
    document = coco([{"id": 3, "image_id": 1, "category_id": 7, "segmentation": [[0, 0, 4, 0, 4, 4]]}]).replace("[[0, 0, 4", f"[[{literal}, 0, 4")
    error = refused(project, owner, settings, make_zip({"images/a.png": png_bytes(W, H), "annotations/instances_default.json": document}))
    assert "annotations/instances_default.json: not valid JSON" in error.message


@pytest.mark.parametrize("bad", [float("inf"), float("nan"), -float("inf"), 1e300, 1e9, 10**400])
def test_the_mask_codec_refuses_coordinates_that_would_crash_pycocotools(bad):
    with pytest.raises(masks.MaskError, match="polygon 0: "):
        masks.from_polygons([[0, 0, bad, 0, 5, 5]], 48, 64)


def test_a_zigzag_polygon_with_a_huge_outline_is_refused(monkeypatch):
    monkeypatch.setattr(masks, "MAX_POLYGON_OUTLINE", 10_000)
    zigzag = [v for i in range(200) for v in (0.0 if i % 2 else 63.0, float(i % 48))]
    with pytest.raises(masks.MaskError, match="outline is .* pixels long, over the limit"):
        masks.from_polygons([zigzag], 48, 64)
    assert masks.area(masks.from_polygons([[1, 1, 60, 1, 60, 40, 1, 40]], 48, 64)) > 0  # ordinary ones still go


def _peak_reading_bytes(n_annotations: int) -> int:
    from annotations.formats.archive import Archive, Errors
    from annotations.formats.coco_import import CocoReader

    box = masks.encode(rect(0, 4, 0, 4))
    archive = make_zip({"annotations/instances_default.json": coco(
        [{"id": i, "image_id": 1, "category_id": 7, "segmentation": box, "padding": "x" * 200} for i in range(n_annotations)])})
    tracemalloc.start()
    try:
        with Archive(archive) as zipped:
            reader = CocoReader(zipped, Errors())
            assert sum(1 for _ in reader.annotations()) == n_annotations
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_the_coco_reader_streams_memory_does_not_follow_the_number_of_annotations():
    _peak_reading_bytes(100)  # first use: imports and caches, not the reader's memory
    small = _peak_reading_bytes(5_000)
    large = _peak_reading_bytes(25_000)  # a 5x larger JSON (6 MB): parsed whole, it would take 5x the memory
    assert large < 1.5 * small, (small, large)


def test_unknown_members_of_a_dataset_zip_are_never_read(project, owner, car, settings, monkeypatch):
    members = {**{f"junk/{i}.bin": b"\0" * 10 for i in range(100)}, "images/a.png": png_bytes(W, H),
               "annotations/instances_default.json": json.dumps({"images": [{"id": 1, "file_name": "a.png", "width": W, "height": H}],
                                                               "annotations": [], "categories": []})}
    archive = make_zip(members)
    opened: list[str] = []
    real_open = zipfile.ZipFile.open
    monkeypatch.setattr(zipfile.ZipFile, "open", lambda self, name, *a, **k: opened.append(getattr(name, "filename", name)) or real_open(self, name, *a, **k))
    dataset_import(project=project, user=owner, archive=archive, format="coco", make_thumbnails=False)
    assert opened and not [n for n in opened if n.startswith("junk/")]
