"""Importing COCO and VOC archives: every segmentation kind, images inside or matched by name,
classes by name; and refusals that name the file and the problem and change nothing."""
from __future__ import annotations

import io
import json
import struct
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image as PILImage

from annotations import masks
from annotations.dataset_imports import dataset_import
from annotations.errors import ValidationFailed
from annotations.formats.palette import VOC_PALETTE
from annotations.models import Annotation, DocumentRevision, Image, LabelClass

from ..conftest import png_bytes
from .conftest import H, W, rect

pytestmark = pytest.mark.django_db


def make_zip(members: dict[str, bytes | str]) -> io.BytesIO:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in members.items():
            z.writestr(name, data)
    buffer.seek(0)
    return buffer


def coco(annotations: list[dict], *, images=None, categories=None) -> str:
    return json.dumps({
        "images": images if images is not None else [{"id": 1, "file_name": "a.png", "width": W, "height": H}],
        "categories": categories if categories is not None else [{"id": 7, "name": "car"}, {"id": 8, "name": "tree"}],
        "annotations": annotations,
    })


def rle_of(bitmap) -> dict:
    return masks.encode(bitmap)


def snapshot(project, settings) -> tuple:
    media = sorted(str(p) for p in Path(settings.MEDIA_ROOT).rglob("*") if p.is_file() and "tmp" not in p.parts)
    return (
        sorted(project.label_classes.values_list("name", flat=True)), Image.objects.filter(project=project).count(),
        Annotation.objects.filter(image__project=project).count(), DocumentRevision.objects.filter(image__project=project).count(), media,
    )


def test_coco_with_polygons_compressed_and_uncompressed_rle_imports(project, owner, car):
    box = rect(5, 15, 5, 25)
    uncompressed = {"size": [H, W], "counts": [int(v) for v in _runs(box)]}
    archive = make_zip({
        "images/a.png": png_bytes(W, H, seed=1),
        "annotations/instances_default.json": coco([
            {"id": 1, "image_id": 1, "category_id": 7, "segmentation": [[30, 30, 40, 30, 40, 40, 30, 40]], "iscrowd": 0},
            {"id": 2, "image_id": 1, "category_id": 7, "segmentation": rle_of(box), "iscrowd": 1},
            {"id": 3, "image_id": 1, "category_id": 8, "segmentation": uncompressed, "iscrowd": 1},
        ]),
    })
    result = dataset_import(project=project, user=owner, archive=archive, format="coco", make_thumbnails=False)
    assert (result.images_created, result.annotations, result.classes_created) == (1, 3, ["tree"])
    rows = list(Annotation.objects.filter(image__project=project).order_by("id"))
    assert rows[0].rle_counts == masks.from_polygons([[30, 30, 40, 30, 40, 40, 30, 40]], H, W)["counts"]
    assert rows[1].rle_counts == rows[2].rle_counts == rle_of(box)["counts"]
    assert rows[0].label_class == car and rows[1].bbox == [5, 5, 20, 10]
    assert Image.objects.get(project=project).annotation_version == 1  # an import is a saved document


def _runs(bitmap) -> list[int]:
    flat = bitmap.flatten(order="F")
    runs, current, count = [], 0, 0
    for v in flat:
        if v != current:
            runs.append(count)
            current, count = v, 0
        count += 1
    runs.append(count)
    return runs


def test_coco_annotations_attach_to_project_images_matched_by_file_name(project, owner, car, make_image):
    existing = make_image(name="a.png")
    archive = make_zip({"annotations/instances_train.json": coco([
        {"id": 1, "image_id": 1, "category_id": 7, "segmentation": rle_of(rect(0, 4, 0, 4))},
    ])})
    result = dataset_import(project=project, user=owner, archive=archive, format="coco", make_thumbnails=False)
    assert (result.images_created, result.images_matched) == (0, 1)
    assert existing.annotations.get().area == 16


def test_missing_classes_are_refused_when_creating_is_not_allowed(project, owner, car, settings):
    before = snapshot(project, settings)
    archive = make_zip({"images/a.png": png_bytes(W, H), "annotations/instances_default.json": coco([
        {"id": 1, "image_id": 1, "category_id": 8, "segmentation": rle_of(rect(0, 4, 0, 4))},
    ])})
    with pytest.raises(ValidationFailed, match="lacks: tree"):
        dataset_import(project=project, user=owner, archive=archive, format="coco", create_classes=False)
    assert snapshot(project, settings) == before


def _valid_members() -> dict[str, bytes | str]:
    return {"images/a.png": png_bytes(W, H, seed=2), "annotations/instances_default.json": coco([
        {"id": 1, "image_id": 1, "category_id": 7, "segmentation": rle_of(rect(0, 4, 0, 4))},
    ])}


@pytest.mark.parametrize("change, message", [
    ({"annotations/instances_default.json": "{\"images\": [oops"}, "annotations/instances_default.json: not valid JSON"),
    ({"annotations/instances_default.json": coco([{"id": 5, "image_id": 99, "category_id": 7, "segmentation": [[0, 0, 4, 0, 4, 4]]}])},
     "annotation 5 is on image id 99, which is not in 'images'"),
    ({"annotations/instances_default.json": coco([{"id": 5, "image_id": 1, "category_id": 7, "segmentation": masks.encode(np.ones((10, 10), np.uint8))}])},
     "annotation 5 on image a.png: mask size 10x10 (h x w) differs from the image's 48x64"),
    ({"annotations/instances_default.json": coco([{"id": 5, "image_id": 1, "category_id": 3, "segmentation": [[0, 0, 4, 0, 4, 4]]}])},
     "annotation 5 on image a.png: unknown category id 3"),
    ({"annotations/instances_default.json": coco([], images=[{"id": 1, "file_name": "a.png", "width": 60, "height": 40}])},
     "mask size 40x60 (h x w) for a.png differs from images/a.png, which is 48x64"),
    ({"annotations/instances_default.json": coco([], images=[{"id": 1, "file_name": "nowhere.png", "width": W, "height": H}])},
     "image nowhere.png is neither in the archive nor in project"),
    ({"images/a.png": b"not an image"}, "images/a.png: not an image"),
    ({"../evil.json": "{}"}, "../evil.json: path escapes the archive"),
])
def test_a_malformed_coco_archive_is_refused_naming_file_and_problem_and_changes_nothing(project, owner, car, settings, change, message):
    before = snapshot(project, settings)
    with pytest.raises(ValidationFailed) as refused:
        dataset_import(project=project, user=owner, archive=make_zip({**_valid_members(), **change}), format="coco")
    assert message in refused.value.message
    assert snapshot(project, settings) == before


def _lie_about_size(data: bytes, member: str, declared: int) -> bytes:
    """Rewrite a zip so `member` declares fewer uncompressed bytes than it holds (local + central headers)."""
    raw = bytearray(data)
    name = member.encode()
    # (signature, offset of the name length, of the name, of the uncompressed size)
    for signature, name_len_at, name_at, size_at in ((b"PK\x03\x04", 26, 30, 22), (b"PK\x01\x02", 28, 46, 24)):
        header = raw.find(signature)
        while header != -1:
            name_len = struct.unpack_from("<H", raw, header + name_len_at)[0]
            if bytes(raw[header + name_at: header + name_at + name_len]) == name:
                struct.pack_into("<I", raw, header + size_at, declared)
            header = raw.find(signature, header + 4)
    return bytes(raw)


def test_a_zip_bomb_that_declares_less_than_it_holds_is_refused(project, owner, car, settings):
    members = _valid_members()
    members["annotations/instances_default.json"] = coco([
        {"id": 1, "image_id": 1, "category_id": 7, "segmentation": rle_of(rect(0, 4, 0, 4)), "padding": " " * 200_000},
    ])
    bomb = _lie_about_size(make_zip(members).getvalue(), "annotations/instances_default.json", 1000)
    before = snapshot(project, settings)
    with pytest.raises(ValidationFailed, match="annotations/instances_default.json: .*(zip bomb|declares)"):
        dataset_import(project=project, user=owner, archive=io.BytesIO(bomb), format="coco")
    assert snapshot(project, settings) == before


def test_an_archive_declaring_more_than_the_limit_is_refused_before_reading(project, owner, car, settings):
    settings.LABELER_IMPORT_MAX_TOTAL_BYTES = 1000
    with pytest.raises(ValidationFailed, match="declares .* bytes uncompressed, over the limit of 1000"):
        dataset_import(project=project, user=owner, archive=make_zip(_valid_members()), format="coco")


def _palette_png(array: np.ndarray) -> bytes:
    image = PILImage.fromarray(array.astype(np.uint8))
    image.putpalette(VOC_PALETTE)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def test_voc_without_labelmap_uses_the_standard_classes(project, owner):
    classes = np.zeros((H, W), np.uint8)
    classes[0:10, 0:10] = 15   # person
    classes[20:30, 20:30] = 7  # car
    classes[40:48, :] = 255    # void border: background
    objects = np.zeros((H, W), np.uint8)
    objects[0:10, 0:10] = 1
    archive = make_zip({
        "VOC2012/JPEGImages/x.jpg": png_bytes(W, H, fmt="JPEG"),
        "VOC2012/SegmentationClass/x.png": _palette_png(classes),
        "VOC2012/SegmentationObject/x.png": _palette_png(objects),
    })
    result = dataset_import(project=project, user=owner, archive=archive, format="voc", make_thumbnails=False)
    assert result.annotations == 2
    kinds = dict(LabelClass.objects.filter(project=project).values_list("name", "kind"))
    assert kinds == {"person": "instance", "car": "semantic"}
    assert sorted(Annotation.objects.filter(image__project=project).values_list("area", flat=True)) == [100, 100]


def test_voc_with_an_unknown_colour_or_wrong_size_is_refused(project, owner, settings):
    classes = np.zeros((H, W), np.uint8)
    classes[0:4, 0:4] = 40  # not one of the 20 VOC classes
    before = snapshot(project, settings)
    with pytest.raises(ValidationFailed, match=r"SegmentationClass/x.png: colour \(\d+, \d+, \d+\) is not in the standard VOC"):
        dataset_import(project=project, user=owner, format="voc", archive=make_zip({
            "JPEGImages/x.jpg": png_bytes(W, H, fmt="JPEG"), "SegmentationClass/x.png": _palette_png(classes),
        }))
    with pytest.raises(ValidationFailed, match=r"SegmentationClass/x.png: mask size 30x30 \(h x w\) for x.jpg differs from JPEGImages/x.jpg"):
        dataset_import(project=project, user=owner, format="voc", archive=make_zip({
            "JPEGImages/x.jpg": png_bytes(W, H, fmt="JPEG"), "SegmentationClass/x.png": _palette_png(np.zeros((30, 30))),
        }))
    assert snapshot(project, settings) == before


def test_many_imported_rows_keep_every_column_and_their_revision_holds_them_exactly(project, owner, car):
    n = 187  # two full multi-row statements and a shorter one
    anns = [
        {"id": k + 1, "image_id": 1, "category_id": 7, "segmentation": rle_of(rect(k % H, k % H + 1, k % W, k % W + 2)),
         "iscrowd": k % 3 == 0, "score": 0.1 + k / 7, "z_order": k}
        for k in range(n)
    ]
    archive = make_zip({"images/a.png": png_bytes(W, H, seed=3), "annotations/instances_default.json": coco(anns)})
    result = dataset_import(project=project, user=owner, archive=archive, format="coco", make_thumbnails=False)
    assert result.annotations == n
    rows = list(Annotation.objects.filter(image__project=project).order_by("z_order", "id"))
    assert [(r.z_order, r.iscrowd, r.score, r.rle_counts) for r in rows] == [
        (k, k % 3 == 0, 0.1 + k / 7, rle_of(rect(k % H, k % H + 1, k % W, k % W + 2))["counts"]) for k in range(n)
    ]
    assert {(r.source, r.author_id, r.is_proposal, r.ground_truth, r.model_version_id) for r in rows} == {("human", owner.pk, False, False, None)}
    assert all(r.created_at is not None and r.created_at == r.updated_at for r in rows)
    assert [r.bbox for r in rows[:2]] == [[0, 0, 2, 1], [1, 1, 2, 1]]
    revision = DocumentRevision.objects.get(image__project=project)
    assert revision.annotations == [
        {"id": r.pk, "label_class": car.pk, "counts": r.rle_counts, "z_order": r.z_order, "source": "human", "model_version": None,
         "score": r.score, "is_proposal": False, "author": owner.pk, "iscrowd": r.iscrowd}
        for r in rows
    ]


def test_an_import_leaves_the_garbage_collector_as_it_found_it_whether_it_succeeds_or_is_refused(project, owner, car):
    import gc

    before = gc.get_threshold()
    good = make_zip({"images/a.png": png_bytes(W, H), "annotations/instances_default.json": coco([
        {"id": 1, "image_id": 1, "category_id": 7, "segmentation": rle_of(rect(0, 4, 0, 4))},
    ])})
    dataset_import(project=project, user=owner, archive=good, format="coco", make_thumbnails=False)
    assert gc.get_threshold() == before
    bad = make_zip({"images/b.png": png_bytes(W, H), "annotations/instances_default.json": coco(
        [{"id": 1, "image_id": 1, "category_id": 7, "segmentation": {"size": [H, W], "counts": "~~"}}],
        images=[{"id": 1, "file_name": "b.png", "width": W, "height": H}],
    )})
    with pytest.raises(ValidationFailed):
        dataset_import(project=project, user=owner, archive=bad, format="coco", make_thumbnails=False)
    assert gc.get_threshold() == before
