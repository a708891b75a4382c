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
