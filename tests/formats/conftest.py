"""A project whose masks stress the formats: semantic and instance classes, overlapping instances,
holes, masks touching the border, 1-pixel objects, a fully hidden instance and a model proposal."""
from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np
import pytest

from annotations import masks, services
from annotations.models import Annotation, Image, ModelVersion, Project

H, W = 48, 64


def rect(r0, r1, c0, c1) -> np.ndarray:
    m = np.zeros((H, W), dtype=np.uint8)
    m[r0:r1, c0:c1] = 1
    return m


def pixel(r, c) -> np.ndarray:
    m = np.zeros((H, W), dtype=np.uint8)
    m[r, c] = 1
    return m


def save(image: Image, user, items: list[tuple[object, np.ndarray]]) -> None:
    services.annotation_document_save(image=image, user=user, version=image.annotation_version, annotations=[
        {"label_class": cls.pk, "mask": masks.encode(bitmap), "z_order": z} for z, (cls, bitmap) in enumerate(items)
    ])


@pytest.fixture
def rich_project(project, owner, car, road, make_image) -> Project:
    holed = rect(10, 26, 5, 31)
    holed[15:19, 12:21] = 0
    a = make_image(name="street.png")
    save(a, owner, [
        (road, rect(30, 48, 0, 64)),     # semantic, touches three borders
        (car, holed),                    # instance with a hole
        (car, rect(20, 36, 25, 51)),     # overlaps the first car and the road
        (car, pixel(0, 0)),              # 1-pixel object in a corner
        (car, pixel(47, 63)),            # 1-pixel object on top of the road, other corner
        (car, pixel(5, 40)),             # isolated 1-pixel object
    ])
    road_holed = rect(0, 48, 0, 64)
    road_holed[20:30, 20:40] = 0
    b = make_image(name="street.jpg")  # same stem as image a: the export must keep names unique
    save(b, owner, [
        (car, rect(5, 10, 5, 10)),       # hidden entirely under the next car
        (road, road_holed),              # semantic with a hole, on top of the first car
        (car, rect(0, 48, 0, 11)),       # touches three borders, above the road
        (car, rect(22, 28, 25, 35)),     # inside the road's hole
    ])
    make_image(name="empty.png")         # no annotations
    services.image_status_set(image=a, status="done")
    services.image_status_set(image=b, status="reviewed")
    version = ModelVersion.objects.create(project=project, name="m1", architecture="unet")
    services.proposals_replace(image=a, model_version=version, proposals=[
        services.Proposal(label_class_id=car.pk, rle=masks.encode(rect(40, 44, 40, 44)), score=0.7),
    ])
    return project


def zip_names(data: bytes | Path) -> list[str]:
    source = io.BytesIO(data) if isinstance(data, bytes) else data
    with zipfile.ZipFile(source) as z:
        return z.namelist()


def stored(project: Project, *, include_proposals: bool = False) -> list[Annotation]:
    rows = Annotation.objects.filter(image__project=project).select_related("image", "label_class")
    if not include_proposals:
        rows = rows.filter(is_proposal=False)
    return list(rows.order_by("image_id", "z_order", "id"))


# --- A project with every case that used to be lost on the way out and back in ------------------

NAMES = ["tiny odd 37x53.jpg", "straße ünï 猫.png", "#hash, start.png", "plain.png", "plain.png"]


def _image_file(name: str, width: int, height: int, seed: int) -> bytes:
    from ..conftest import png_bytes

    return png_bytes(width, height, seed=seed, fmt="JPEG" if name.endswith(".jpg") else "PNG")


@pytest.fixture
def lossless_project(owner) -> Project:
    """Names with spaces, unicode, a leading '#', and one name used twice; a class with ':'; an
    instance class and two semantic ones; overlaps; crowd; void on two images; two stored splits."""
    from annotations import ingest
    from annotations.models import LabelClass

    project = services.project_create(name="Lossless", owner=owner)
    vehicle = services.label_class_create(project=project, name="vehicle:car", kind=LabelClass.Kind.INSTANCE, color="#00ff00")
    road = services.label_class_create(project=project, name="road", kind=LabelClass.Kind.SEMANTIC, color="#808080")
    sky = services.label_class_create(project=project, name="sky", kind=LabelClass.Kind.SEMANTIC, color="#0000ff")
    images = []
    for seed, name in enumerate(NAMES):
        width, height = (37, 53) if seed == 0 else (W, H)
        result = ingest.images_import(project=project, user=owner, files=[(name, io.BytesIO(_image_file(name, width, height, seed)))],
                                      make_thumbnails=False)
        images.append(result.created[0])

    def box(image, r0, r1, c0, c1):
        m = np.zeros((image.height, image.width), dtype=np.uint8)
        m[r0:r1, c0:c1] = 1
        return masks.encode(m)

    tiny, strasse, hashed, plain, plain2 = images
    documents = {
        tiny: ([(road, box(tiny, 30, 53, 0, 37), False), (vehicle, box(tiny, 5, 20, 5, 20), False),
                (vehicle, box(tiny, 10, 35, 10, 30), True)],  # a crowd region over the first car and the road
               box(tiny, 0, 2, 0, 37)),
        strasse: ([(sky, box(strasse, 0, 20, 0, 64), False), (road, box(strasse, 30, 48, 0, 64), False),
                   (vehicle, box(strasse, 15, 40, 10, 30), False), (vehicle, box(strasse, 20, 45, 25, 50), False)],
                  box(strasse, 20, 30, 60, 64)),
        hashed: ([(sky, box(hashed, 0, 48, 0, 64), False)], None),  # semantic only
        plain: ([(vehicle, box(plain, 1, 2, 1, 2), False)], None),  # one pixel
        plain2: ([(road, box(plain2, 40, 48, 0, 64), False)], None),
    }
    for image, (items, void) in documents.items():
        services.annotation_document_save(image=image, user=owner, version=image.annotation_version, void=void, annotations=[
            {"label_class": cls.pk, "mask": rle, "z_order": z, "iscrowd": crowd} for z, (cls, rle, crowd) in enumerate(items)
        ])
    Image.objects.filter(pk__in=[tiny.pk, strasse.pk, plain.pk]).update(split="train")
    Image.objects.filter(pk__in=[hashed.pk, plain2.pk]).update(split="val")
    return project


def truth(project: Project) -> dict:
    """Everything that must survive, keyed by (file name, width, height) since names repeat:
    per image its split, void and annotations (class, kind, crowd, mask counts)."""
    out: dict = {}
    for image in Image.objects.filter(project=project).order_by("id"):
        rows = sorted(
            (a.label_class.name, a.label_class.kind, a.iscrowd, a.rle_counts)
            for a in image.annotations.filter(is_proposal=False).select_related("label_class")
        )
        out.setdefault((image.file_name, image.width, image.height), []).append((image.split, image.void_rle_counts, rows))
    return {k: sorted(v, key=repr) for k, v in out.items()}
