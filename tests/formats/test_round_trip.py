"""Export -> import into a new project gives back every mask pixel for pixel (COCO), or the
z-order-resolved masks (VOC, where each pixel has one owner); pycocotools reads the COCO export."""
from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path, PurePosixPath

import numpy as np
import pytest
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from annotations import masks, services
from annotations.dataset_imports import dataset_import
from annotations.exports import export_options, export_write
from annotations.models import Image, LabelClass

from .conftest import stored

pytestmark = pytest.mark.django_db


def export(project, tmp_path: Path, **options) -> Path:
    out = tmp_path / f"export-{options['format']}.zip"
    export_write(project=project, options=export_options(**options), target=out)
    return out


def reimport(tmp_path, archive: Path, owner, fmt: str):
    target = services.project_create(name=f"copy-{fmt}", owner=owner)
    dataset_import(project=target, user=owner, archive=archive, format=fmt, make_thumbnails=False)
    return target


def by_image(rows, key) -> dict[str, list[tuple]]:
    out: dict[str, list[tuple]] = {}
    for a in rows:
        out.setdefault(key(a.image), []).append((a.label_class.name, a.label_class.kind, a.rle_counts))
    return {k: sorted(v) for k, v in out.items()}


def test_coco_round_trip_gives_back_every_mask_pixel_for_pixel(rich_project, owner, tmp_path):
    archive = export(rich_project, tmp_path, format="coco", with_images=True)
    copy = reimport(tmp_path, archive, owner, "coco")
    original = by_image(stored(rich_project), lambda i: i.sha256)
    assert by_image(stored(copy), lambda i: i.sha256) == original
    assert sum(len(v) for v in original.values()) == 10
    assert Image.objects.filter(project=copy).count() == 3
    assert {(c.name, c.kind, c.color) for c in copy.label_classes.all()} == {("car", "instance", "#ff0000"), ("road", "semantic", "#808080")}
    # z-order survives too (COCO carries it as an extra key)
    assert [a.z_order for a in stored(copy)] == [a.z_order for a in stored(rich_project)]


def _z_resolved(rows) -> dict[int, list[tuple]]:
    """What VOC can hold: each pixel belongs to the highest annotation; hidden ones vanish."""
    out: dict[str, list[tuple]] = {}
    for image in {a.image for a in rows}:
        own = [a for a in rows if a.image_id == image.pk]
        owner_map = np.full((image.height, image.width), -1)
        for i, a in enumerate(own):  # rows come in (z_order, id) order
            owner_map[masks.decode(a.rle).astype(bool)] = i
        visible = []
        for i, a in enumerate(own):
            bitmap = (owner_map == i).astype(np.uint8)
            if bitmap.any():
                visible.append((a.label_class.name, a.label_class.kind, masks.encode(bitmap)["counts"]))
        out[image.pk] = sorted(visible)
    return out


def test_voc_round_trip_gives_back_the_z_order_resolved_masks(rich_project, owner, tmp_path):
    archive = export(rich_project, tmp_path, format="voc", with_images=True)
    copy = reimport(tmp_path, archive, owner, "voc")
    got = by_image(stored(copy), lambda i: i.file_name)
    # the two images named street.* leave as street and street_<id> (and JPEG re-encoding changes
    # their hashes), so images are compared by their annotations, not by name
    expected = [v for v in _z_resolved(stored(rich_project)).values() if v]
    assert sorted(got.values()) == sorted(expected)
    hidden = 1  # image b's first car lies entirely under the second
    assert sum(len(v) for v in got.values()) == 10 - hidden
    assert {(c.name, c.kind) for c in copy.label_classes.all()} == {("car", "instance"), ("road", "semantic")}
    assert Image.objects.filter(project=copy).count() == 3


def test_voc_layout_is_complete(rich_project, tmp_path):
    archive = export(rich_project, tmp_path, format="voc", with_images=True, split="train=0.5,val=0.5", seed=1)
    with zipfile.ZipFile(archive) as z:
        names = set(z.namelist())
        stems = {PurePosixPath(n).stem for n in names if n.startswith("SegmentationClass/")}
        assert len(stems) == 3 and "street" in stems  # duplicate stems made unique
        for s in stems:
            assert {f"JPEGImages/{s}.jpg", f"SegmentationObject/{s}.png", f"Annotations/{s}.xml"} <= names
        train = z.read("ImageSets/Segmentation/train.txt").decode().split()
        val = z.read("ImageSets/Segmentation/val.txt").decode().split()
        assert sorted(z.read("ImageSets/Segmentation/trainval.txt").decode().split()) == sorted(train + val) == sorted(stems)
        assert z.read("labelmap.txt").decode().splitlines()[1:] == ["background:0,0,0::", "car:128,0,0::", "road:0,128,0::"]
        from PIL import Image as PILImage

        cls = PILImage.open(io.BytesIO(z.read("SegmentationClass/street.png")))
        assert cls.mode == "P" and cls.getpalette()[3:6] == [128, 0, 0]
        values = np.asarray(cls)
        assert values[0, 0] == 1 and values[47, 63] == 1 and values[40, 5] == 2 and values[2, 60] == 0
        obj = np.asarray(PILImage.open(io.BytesIO(z.read("SegmentationObject/street.png"))))
        # every mask is an object, the semantic road too (painted first: index 1), as CVAT and datumaro read them
        assert obj.max() == 6 and obj[40, 5] == 1
        xml = z.read("Annotations/street.xml").decode()
        assert xml.count("<object>") == 6 and "<xmin>1</xmin>" in xml and "<truncated>1</truncated>" in xml


def _coco_document(archive: Path, name: str = "annotations/instances_train.json") -> dict:
    with zipfile.ZipFile(archive) as z:
        return json.loads(z.read(name))


def test_pycocotools_reads_the_export_and_its_masks_equal_ours(rich_project, tmp_path):
    archive = export(rich_project, tmp_path, format="coco")
    path = tmp_path / "instances.json"
    document = _coco_document(archive)
    path.write_text(json.dumps(document))
    coco = COCO(str(path))
    rows = {a.pk: a for a in stored(rich_project)}
    assert set(coco.anns) == set(rows)
    for ann_id, ann in coco.anns.items():
        row = rows[ann_id]
        assert np.array_equal(coco.annToMask(ann), masks.decode(row.rle))
        assert ann["area"] == row.area and ann["bbox"] == row.bbox and ann["iscrowd"] == 0
        assert ann["segmentation"]["counts"] == row.rle_counts  # copied from storage, not re-encoded
    assert [c["id"] for c in document["categories"]] == [c.pk for c in LabelClass.objects.filter(project=rich_project)]


def test_cocoeval_of_the_export_against_itself_gives_ap_1(rich_project, tmp_path):
    archive = export(rich_project, tmp_path, format="coco")
    path = tmp_path / "instances.json"
    path.write_text(json.dumps(_coco_document(archive)))
    gt = COCO(str(path))
    results = [
        {"image_id": a["image_id"], "category_id": a["category_id"], "segmentation": gt.annToRLE(a), "score": 1.0}
        for a in gt.anns.values()
    ]
    evaluation = COCOeval(gt, gt.loadRes(results), "segm")
    evaluation.evaluate()
    evaluation.accumulate()
    evaluation.summarize()
    assert evaluation.stats[0] == pytest.approx(1.0)
    assert evaluation.stats[1] == pytest.approx(1.0)


def test_category_ids_stay_the_same_across_exports(rich_project, tmp_path, owner):
    first = _coco_document(export(rich_project, tmp_path, format="coco"))["categories"]
    services.label_class_create(project=rich_project, name="bike", order=0)  # a new class sorted first
    second = _coco_document(export(rich_project, tmp_path, format="coco"))["categories"]
    assert {c["name"]: c["id"] for c in first}.items() <= {c["name"]: c["id"] for c in second}.items()


def test_polygon_export_is_read_by_pycocotools_with_consistent_area_and_bbox(rich_project, tmp_path):
    archive = export(rich_project, tmp_path, format="coco", mask_format="polygon")
    path = tmp_path / "instances.json"
    path.write_text(json.dumps(_coco_document(archive)))
    coco = COCO(str(path))
    rows = {a.pk: a for a in stored(rich_project)}
    for ann_id, ann in coco.anns.items():
        assert isinstance(ann["segmentation"], list)
        drawn = coco.annToMask(ann)
        assert int(drawn.sum()) == ann["area"]
        assert masks.bbox(masks.encode(drawn)) == ann["bbox"]
        if rows[ann_id].area > 100:  # large shapes keep their outline (holes are filled: COCO polygons have none)
            assert masks.iou(masks.encode(drawn), rows[ann_id].rle) > 0.85


def test_only_status_proposals_and_split_filter_the_export(rich_project, tmp_path):
    done_only = _coco_document(export(rich_project, tmp_path, format="coco", only_status="done"))
    assert [i["file_name"] for i in done_only["images"]] == ["street.png"]
    assert all("score" not in a for a in done_only["annotations"])  # proposals stay out by default
    with_proposals = _coco_document(export(rich_project, tmp_path, format="coco", only_status="done", include_proposals=True))
    assert len(with_proposals["annotations"]) == len(done_only["annotations"]) + 1
    archive = export(rich_project, tmp_path, format="coco", split="train=0.5,val=0.5", seed=7)
    with zipfile.ZipFile(archive) as z:
        assert sorted(n for n in z.namelist() if n.endswith(".json")) == ["annotations/instances_train.json", "annotations/instances_val.json"]
        images = [i["id"] for n in ("train", "val") for i in json.loads(z.read(f"annotations/instances_{n}.json"))["images"]]
    assert sorted(images) == sorted(Image.objects.filter(project=rich_project).values_list("id", flat=True))
    again = export(rich_project, tmp_path, format="coco", split="train=0.5,val=0.5", seed=7)
    assert _coco_document(again, "annotations/instances_val.json")["images"] == _coco_document(archive, "annotations/instances_val.json")["images"]


def test_export_with_images_holds_the_stored_files(rich_project, tmp_path, settings):
    archive = export(rich_project, tmp_path, format="coco", with_images=True)
    with zipfile.ZipFile(archive) as z:
        for image in Image.objects.filter(project=rich_project):
            stem = Path(image.file_name).stem
            member = next(n for n in z.namelist() if n.startswith(f"images/{stem}"))
            assert z.read(member) == (Path(settings.MEDIA_ROOT) / image.file.name).read_bytes() or stem == "street"
