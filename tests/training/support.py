"""Approved synthetic projects for the training tests: shapes labelled by a person, tiny recipes."""
from __future__ import annotations

import numpy as np

from annotations import masks, services
from annotations.models import Image

from ..ml.support import TINY_MASKRCNN
from ..model_support import class_ids, shapes_project

# Tiny nets (tests/ml/support.py sizes) with recipes that learn the easy shapes in seconds.
TINY_UNET_PARAMS = {"arch": "unet", "builder_kwargs": {"depth": 2, "base_width": 8}, "lr": 1e-2, "batch_size": 8}
TINY_MASKRCNN_PARAMS = {
    "arch": "maskrcnn", "lr": 1e-3, "batch_size": 4, "image_size": 64,
    "builder_kwargs": {k: v for k, v in TINY_MASKRCNN.items() if k not in ("min_size", "max_size")},
}


def label_like_a_person(*, owner, image: Image, truth: np.ndarray, ids: dict[str, int], status: str = "done") -> Image:
    """Save one human mask per class present (the truth), then set the image's status."""
    from workers.ml.synthetic import CLASS_NAMES

    items = [
        {"label_class": ids[name], "mask": masks.encode((truth == index).astype(np.uint8)), "z_order": index}
        for index, name in enumerate(CLASS_NAMES[1:], start=1)
        if (truth == index).any()
    ]
    image.refresh_from_db()
    services.annotation_document_save(image=image, user=owner, version=image.annotation_version, annotations=items)
    return services.image_status_set(image=image, status=status)


def approved_shapes(*, owner, n: int, approve: int | None = None, seed: int = 5, kind: str = "semantic"):
    """shapes_project with the first `approve` images (all by default) labelled and marked done."""
    project, truths = shapes_project(owner=owner, n=n, seed=seed, kind=kind)
    ids = class_ids(project)
    for image_id in list(truths)[: n if approve is None else approve]:
        label_like_a_person(owner=owner, image=Image.objects.get(pk=image_id), truth=truths[image_id], ids=ids)
    return project, truths
