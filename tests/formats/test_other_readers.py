"""The tools users move data to read our exports and find the same labels and pixels:
Datumaro (`voc`, `voc_segmentation`, `voc_instance_segmentation`, `coco_instances` with images),
torchvision's VOCSegmentation and pycocotools (COCOeval honouring crowd and the ignore category).

Datumaro needs Pillow 12 and the project pins Pillow 13, so it runs from its own virtual
environment (.venv-datumaro, requirements-datumaro.txt, made by `make test`)."""
from __future__ import annotations

import json
import subprocess
import zipfile
from pathlib import Path

import numpy as np
import pytest
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from annotations import masks, services
from annotations.exports import export_options, export_write
from annotations.formats.palette import labelmap_name
from annotations.models import Image

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
DATUMARO_PYTHON = ROOT / ".venv-datumaro" / "bin" / "python"


def datumaro(path: Path, fmt: str) -> dict:
    assert DATUMARO_PYTHON.exists(), "Datumaro's environment is missing: run `make datumaro` (make test does)"
    out = subprocess.run(
        [str(DATUMARO_PYTHON), str(ROOT / "tests" / "formats" / "datumaro_read.py"), str(path), fmt],
        capture_output=True, text=True, timeout=120,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


def unpacked(project, tmp_path: Path, name: str, **options) -> Path:
    archive = tmp_path / f"{name.replace('/', '_')}.zip"
    export_write(project=project, options=export_options(**options), target=archive)
    folder = tmp_path / name
    with zipfile.ZipFile(archive) as z:
        z.extractall(folder)
    return folder


def _void(image) -> np.ndarray | None:
    if not image.void_rle_counts:
        return None
    return masks.decode({"size": [image.height, image.width], "counts": image.void_rle_counts}).astype(bool)


def visible_masks(image) -> list[tuple[str, np.ndarray]]:
    """(class, bitmap) of what each annotation keeps in VOC (topmost owns a pixel, void above all), and
    ("ignored", void)."""
    rows = list(image.annotations.filter(is_proposal=False).select_related("label_class").order_by("z_order", "id"))
    owner = np.full((image.height, image.width), -1)
    for i, a in enumerate(rows):
        owner[masks.decode(a.rle).astype(bool)] = i
    void = _void(image)
    if void is not None:
        owner[void] = -2
    out = [(rows[i].label_class.name, owner == i) for i in range(len(rows)) if (owner == i).any()]
    if void is not None:
        out.append(("ignored", void))
    return out


def stems_of(folder: Path) -> dict[str, Image]:
    manifest = json.loads((folder / "labeler.json").read_text())
    by_name: dict[str, list[Image]] = {}
    for image in Image.objects.order_by("id"):
        by_name.setdefault(image.file_name, []).append(image)
    return {m["stem"]: by_name[m["file_name"]].pop(0) for m in manifest["images"]}


def _pixels(entries) -> list[tuple[str, tuple[int, ...]]]:
    return sorted((e["label"], tuple(e["mask"])) for e in entries if "mask" in e)


def expected_voc(folder: Path) -> dict[str, list[tuple[str, tuple[int, ...]]]]:
    return {
        stem: sorted((labelmap_name(name) if name != "ignored" else name, tuple(np.flatnonzero(bitmap).tolist()))
                     for name, bitmap in visible_masks(image))
        for stem, image in stems_of(folder).items()
    }


@pytest.mark.parametrize("fmt", ["voc_segmentation", "voc_instance_segmentation", "voc"])
def test_datumaro_reads_our_voc_export_with_every_mask_and_pixel(lossless_project, tmp_path, fmt):
    folder = unpacked(lossless_project, tmp_path, "voc", format="voc", with_images=True)
    found = datumaro(folder, fmt)
    expected = expected_voc(folder)
    got: dict[str, list] = {}
    subsets: dict[str, str] = {}
    for item in found["items"]:
        if item["subset"] == "trainval":  # VOC's union of train and val: the same items again
            continue
        got.setdefault(item["id"], [])
        got[item["id"]] += _pixels(item["annotations"])
        subsets.setdefault(item["id"], item["subset"])
    assert {k: sorted(v) for k, v in got.items()} == expected
    assert "vehicle%3Acar" in found["labels"] and "road" in found["labels"]
    if fmt == "voc":  # ImageSets/Main: the subsets are our stored splits; XML objects give one box per mask
        assert subsets["_hash, start"] == "val" and subsets["tiny odd 37x53"] == "train"
        boxes = sum(1 for item in found["items"] if item["subset"] != "trainval" for a in item["annotations"] if a["type"] == "bbox")
        assert boxes == sum(len([m for m in v if m[0] != "ignored"]) for v in expected.values())


def test_datumaro_reads_a_semantic_only_project_with_its_annotations(project, owner, road, make_image, tmp_path):
    image = make_image()
    bitmap = np.zeros((image.height, image.width), np.uint8)
    bitmap[30:, :] = 1
    services.annotation_document_save(image=image, user=owner, version=0, annotations=[{"label_class": road.pk, "mask": masks.encode(bitmap)}])
    folder = unpacked(project, tmp_path, "voc", format="voc")
    found = datumaro(folder, "voc_segmentation")
    assert _pixels(found["items"][0]["annotations"]) == [("road", tuple(np.flatnonzero(bitmap).tolist()))]


def test_torchvision_reads_our_voc_export_as_the_class_maps_we_expect(lossless_project, tmp_path):
    from torchvision.datasets import VOCSegmentation

    folder = unpacked(lossless_project, tmp_path, "VOCdevkit/VOC2012", format="voc", with_images=True)
    index = {c.name: i for i, c in enumerate(lossless_project.label_classes.order_by("order", "id"), start=1)}
    stems = stems_of(folder)
    for split in ("train", "val"):
        dataset = VOCSegmentation(str(tmp_path), year="2012", image_set=split, download=False)
        assert len(dataset) == sum(1 for image in stems.values() if image.split == split)
        for position, stem in enumerate(Path(p).stem for p in dataset.images):
            image = stems[stem]
            picture, target = dataset[position]
            assert picture.size == (image.width, image.height)
            expected = np.zeros((image.height, image.width), np.uint8)
            for name, bitmap in visible_masks(image):
                expected[bitmap] = 255 if name == "ignored" else index[name]
            assert np.array_equal(np.asarray(target), expected)


def _coco_expected(project) -> list[tuple[str, int, tuple[int, ...]]]:
    rows = []
    for image in Image.objects.filter(project=project):
        for a in image.annotations.filter(is_proposal=False).select_related("label_class"):
            rows.append((a.label_class.name, int(a.iscrowd), tuple(np.flatnonzero(masks.decode(a.rle)).tolist())))
        void = _void(image)
        if void is not None:
            rows.append(("ignore", 1, tuple(np.flatnonzero(void).tolist())))
    return sorted(rows)


def test_datumaro_reads_our_coco_export_with_images(lossless_project, tmp_path):
    folder = unpacked(lossless_project, tmp_path, "coco", format="coco", with_images=True, void_as_ignore=True)
    found = datumaro(folder, "coco_instances")
    assert all(item["has_image"] for item in found["items"])
    assert {item["subset"] for item in found["items"]} == {"train", "val"}
    got = sorted((a["label"], int(a["iscrowd"]), tuple(a["mask"])) for item in found["items"] for a in item["annotations"] if "mask" in a)
    assert got == _coco_expected(lossless_project)


def test_pycocotools_reads_crowd_and_ignore_regions_and_cocoeval_treats_them_as_crowd(lossless_project, tmp_path):
    folder = unpacked(lossless_project, tmp_path, "coco", format="coco", void_as_ignore=True)
    anns, images, categories = [], [], {}
    for split in ("train", "val"):
        document = json.loads((folder / "annotations" / f"instances_{split}.json").read_text())
        anns += document["annotations"]
        images += document["images"]
        categories.update({c["id"]: c for c in document["categories"]})
    merged = folder / "all.json"
    merged.write_text(json.dumps({"images": images, "annotations": anns, "categories": list(categories.values())}))
    gt = COCO(str(merged))
    got = sorted((gt.cats[a["category_id"]]["name"], a["iscrowd"], tuple(np.flatnonzero(gt.annToMask(a)).tolist())) for a in gt.anns.values())
    assert got == _coco_expected(lossless_project)
    # perfect detections of every non-crowd object score AP 1; crowd regions neither count as misses nor as matches needed
    results = [{"image_id": a["image_id"], "category_id": a["category_id"], "segmentation": gt.annToRLE(a), "score": 1.0}
               for a in gt.anns.values() if not a["iscrowd"]]
    evaluation = COCOeval(gt, gt.loadRes(results), "segm")
    evaluation.evaluate()
    evaluation.accumulate()
    evaluation.summarize()
    assert evaluation.stats[0] == pytest.approx(1.0)
