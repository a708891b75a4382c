"""A small quality-control scenario the quality tests share: two ground-truth sample images of
20 x 20 px with hand-computable scores.

Tom's image: ground truth cars A, B, C and a road; his cars A' (IoU 0.8 with A), B' (IoU 0.7
with B), no C (a miss), D (spurious), and a road of IoU 0.8 (160 of 200 px). Amy's image: the
ground truth exactly. At IoU 0.5 Tom has TP 3, FP 1, FN 1 (precision = recall = 0.75, accuracy 0.6).
"""
from __future__ import annotations

import numpy as np

from annotations import masks, quality, services


def box(y0: int, y1: int, x0: int, x1: int, size: int = 20) -> dict:
    bitmap = np.zeros((size, size), np.uint8)
    bitmap[y0:y1, x0:x1] = 1
    return masks.encode(bitmap)


def quality_scenario(*, project, owner, tom, amy, car, road, seed: int = 11) -> tuple[int, int]:
    """Marks 10 % of the project's (20) images with `seed` and labels the two; returns their ids."""
    quality.ground_truth_sample_mark(project=project, user=owner, percent=10, seed=seed)
    first, second = project.images.filter(ground_truth=True).order_by("pk")
    truth = [{"label_class": car.pk, "mask": m} for m in (box(0, 10, 0, 10), box(0, 10, 10, 20), box(15, 20, 0, 5))]
    truth.append({"label_class": road.pk, "mask": box(10, 20, 0, 20)})
    for image in (first, second):
        services.annotation_document_save(image=image, user=owner, version=0, annotations=truth, ground_truth=True)
    services.annotation_document_save(image=first, user=tom, version=0, annotations=[
        {"label_class": car.pk, "mask": box(0, 10, 0, 8)},
        {"label_class": car.pk, "mask": box(0, 10, 13, 20)},
        {"label_class": car.pk, "mask": box(15, 20, 15, 20)},
        {"label_class": road.pk, "mask": box(12, 20, 0, 20)},
    ])
    services.annotation_document_save(image=second, user=amy, version=0, annotations=truth)
    return first.pk, second.pk
