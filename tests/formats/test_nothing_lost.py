"""Import -> export -> import loses nothing: exact names (spaces, unicode, '#', a name used twice),
a class with ':', pixel-exact masks, void, crowd, two stored splits, semantic-only images and
overlaps. COCO keeps every mask as stored; VOC keeps what a VOC pixel can hold (one owner per
pixel, void on top) and nothing less."""
from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image as PILImage

from annotations import masks, services
from annotations.dataset_imports import dataset_import
from annotations.exports import export_options, export_write
from annotations.models import Image

from .conftest import truth

pytestmark = pytest.mark.django_db


def export(project, tmp_path: Path, name: str, **options) -> Path:
    out = tmp_path / f"{name}.zip"
    export_write(project=project, options=export_options(**options), target=out)
    return out


def reimport(archive: Path, owner, fmt: str, name: str):
    target = services.project_create(name=name, owner=owner)
    dataset_import(project=target, user=owner, archive=archive, format=fmt, make_thumbnails=False)
    return target


def classes(project) -> set[tuple]:
    return {(c.name, c.kind, c.color) for c in project.label_classes.all()}


def voc_view(project) -> dict:
    """What VOC can hold of a project: each pixel owned by the topmost mask, void above all, no crowd."""
    out: dict = {}
    for image in Image.objects.filter(project=project).order_by("id"):
        rows = list(image.annotations.filter(is_proposal=False).select_related("label_class").order_by("z_order", "id"))
        owner = np.full((image.height, image.width), -1)
        for i, a in enumerate(rows):
            owner[masks.decode(a.rle).astype(bool)] = i
        if image.void_rle_counts:
            owner[masks.decode({"size": [image.height, image.width], "counts": image.void_rle_counts}).astype(bool)] = -2
        visible = []
        for i, a in enumerate(rows):
            bitmap = (owner == i).astype(np.uint8)
            if bitmap.any():
                visible.append((a.label_class.name, a.label_class.kind, False, masks.encode(bitmap)["counts"]))
        out.setdefault((image.file_name, image.width, image.height), []).append((image.split, image.void_rle_counts, sorted(visible)))
    return {k: sorted(v, key=repr) for k, v in out.items()}


def test_coco_round_trip_keeps_names_pixels_crowd_void_splits_and_classes(lossless_project, owner, tmp_path):
    first = reimport(export(lossless_project, tmp_path, "a", format="coco", with_images=True, void_as_ignore=True), owner, "coco", "copy")
    assert truth(first) == truth(lossless_project)
    assert classes(first) == classes(lossless_project)
    second = reimport(export(first, tmp_path, "b", format="coco", with_images=True, void_as_ignore=True), owner, "coco", "copy2")
    assert truth(second) == truth(lossless_project)
    # the made-up project has all of it, so the equality above means something
    everything = [row for items in truth(lossless_project).values() for _, _, rows in items for row in rows]
    assert any(crowd for _, _, crowd, _ in everything)
    assert sum(1 for items in truth(lossless_project).values() for _, void, _ in items if void) == 2
    assert {split for items in truth(first).values() for split, _, _ in items} == {"train", "val"}


def test_voc_round_trip_keeps_names_void_splits_and_every_visible_pixel(lossless_project, owner, tmp_path):
    first = reimport(export(lossless_project, tmp_path, "a", format="voc", with_images=True), owner, "voc", "copy")
    assert truth(first) == voc_view(lossless_project)
    assert classes(first) == classes(lossless_project)  # kinds and colours come back through labeler.json
    second = reimport(export(first, tmp_path, "b", format="voc", with_images=True), owner, "voc", "copy2")
    assert truth(second) == truth(first)


def test_voc_round_trip_without_images_matches_the_project_images_by_their_exact_names(lossless_project, owner, tmp_path):
    archive = export(lossless_project, tmp_path, "labels", format="voc")
    before = Image.objects.filter(project=lossless_project).count()
    with pytest.raises(Exception, match="matches 2 images"):  # the two plain.png: only the files tell them apart
        dataset_import(project=lossless_project, user=owner, archive=archive, format="voc", make_thumbnails=False)
    assert Image.objects.filter(project=lossless_project).count() == before


def test_coco_file_name_is_the_stored_name_byte_for_byte(lossless_project, tmp_path):
    plain_ids = sorted(Image.objects.filter(project=lossless_project, file_name="plain.png").values_list("id", flat=True))
    with zipfile.ZipFile(export(lossless_project, tmp_path, "labels", format="coco")) as z:
        names = sorted(i["file_name"] for n in ("train", "val") for i in json.loads(z.read(f"annotations/instances_{n}.json"))["images"])
    assert names == sorted(Image.objects.filter(project=lossless_project).values_list("file_name", flat=True))
    # with images, two files cannot both be images/plain.png: the second is renamed and says its real name
    with zipfile.ZipFile(export(lossless_project, tmp_path, "full", format="coco", with_images=True)) as z:
        entries = {i["id"]: i for n in ("train", "val") for i in json.loads(z.read(f"annotations/instances_{n}.json"))["images"]}
        members = set(z.namelist())
    assert entries[plain_ids[0]]["file_name"] == "plain.png" and "labeler_file_name" not in entries[plain_ids[0]]
    assert entries[plain_ids[1]]["file_name"] == f"plain_{plain_ids[1]}.png"
    assert entries[plain_ids[1]]["labeler_file_name"] == "plain.png"
    assert {f"images/{e['file_name']}" for e in entries.values()} <= members
    assert "images/tiny odd 37x53.jpg" in members and "images/straße ünï 猫.png" in members


def test_voc_stems_change_only_where_voc_needs_it_and_labeler_json_maps_them_back(lossless_project, tmp_path):
    plain_ids = sorted(Image.objects.filter(project=lossless_project, file_name="plain.png").values_list("id", flat=True))
    with zipfile.ZipFile(export(lossless_project, tmp_path, "voc", format="voc")) as z:
        stems = {n[len("SegmentationClass/"):-4] for n in z.namelist() if n.startswith("SegmentationClass/")}
        manifest = json.loads(z.read("labeler.json"))
        labelmap = z.read("labelmap.txt").decode()
    assert stems == {"tiny odd 37x53", "straße ünï 猫", "_hash, start", "plain", f"plain_{plain_ids[1]}"}
    assert {m["stem"]: m["file_name"] for m in manifest["images"]}["_hash, start"] == "#hash, start.png"
    # ':' separates labelmap.txt's fields: the name is escaped there and restored from labeler.json
    assert "vehicle%3Acar:128,0,0::" in labelmap.splitlines()
    assert {c["labelmap_name"]: c["name"] for c in manifest["classes"]}["vehicle%3Acar"] == "vehicle:car"


def test_a_class_with_a_colon_never_breaks_a_voc_export(project, owner, make_image, tmp_path):
    services.label_class_create(project=project, name="a:b:c", kind="instance")
    make_image()
    export(project, tmp_path, "voc", format="voc")  # used to fail for the whole project


def test_void_is_255_in_both_voc_pngs_and_an_ignore_crowd_region_in_coco_only_when_asked(lossless_project, tmp_path):
    strasse = Image.objects.get(project=lossless_project, file_name="straße ünï 猫.png")
    void = masks.decode({"size": [strasse.height, strasse.width], "counts": strasse.void_rle_counts}).astype(bool)
    with zipfile.ZipFile(export(lossless_project, tmp_path, "voc", format="voc")) as z:
        for folder in ("SegmentationClass", "SegmentationObject"):
            values = np.asarray(PILImage.open(io.BytesIO(z.read(f"{folder}/straße ünï 猫.png"))))
            assert (values[void] == 255).all() and (values[~void] != 255).all()
        assert "ignored:224,224,192::" in z.read("labelmap.txt").decode().splitlines()
    with zipfile.ZipFile(export(lossless_project, tmp_path, "plain", format="coco")) as z:
        document = json.loads(z.read("annotations/instances_train.json"))
        assert all(not c.get("void") for c in document["categories"])
    with zipfile.ZipFile(export(lossless_project, tmp_path, "void", format="coco", void_as_ignore=True)) as z:
        document = json.loads(z.read("annotations/instances_train.json"))
    ignore = next(c for c in document["categories"] if c.get("void"))
    assert ignore["name"] == "ignore"
    regions = [a for a in document["annotations"] if a["category_id"] == ignore["id"]]
    assert len(regions) == 2 and all(a["iscrowd"] == 1 for a in regions)
    region = next(a for a in regions if a["image_id"] == strasse.pk)
    assert np.array_equal(masks.decode(region["segmentation"]).astype(bool), void)


def test_exports_write_the_stored_splits_unless_a_split_is_given(lossless_project, tmp_path):
    with zipfile.ZipFile(export(lossless_project, tmp_path, "stored", format="voc")) as z:
        assert sorted(z.read("ImageSets/Segmentation/val.txt").decode().split("\n")[:-1]) == ["_hash, start", f"plain_{max(Image.objects.filter(project=lossless_project, file_name='plain.png').values_list('id', flat=True))}"]
        assert z.read("ImageSets/Main/val.txt") == z.read("ImageSets/Segmentation/val.txt")
    with zipfile.ZipFile(export(lossless_project, tmp_path, "drawn", format="coco", split="a=0.5,b=0.5", seed=3)) as z:
        assert sorted(n for n in z.namelist() if n.endswith(".json")) == ["annotations/instances_a.json", "annotations/instances_b.json"]


def test_an_import_stores_the_split_of_each_image(project, owner, tmp_path, lossless_project):
    archive = export(lossless_project, tmp_path, "coco", format="coco", with_images=True)
    copy = reimport(archive, owner, "coco", "copy")
    splits = dict(Image.objects.filter(project=copy).values_list("file_name", "split").order_by("id"))
    assert splits["tiny odd 37x53.jpg"] == "train" and splits["#hash, start.png"] == "val"
