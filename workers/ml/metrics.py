"""Evaluation metrics: semantic per-class IoU, mIoU and pixel accuracy from a confusion
matrix; instance COCO segmentation AP, AP50 and AP75 through pycocotools' COCOeval on
in-memory COCO objects (so our figures are pycocotools' figures)."""

from __future__ import annotations

import contextlib
import io
import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np
from pycocotools import mask as mask_utils
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

IGNORE_INDEX = 255


def confusion_matrix(
    pred: np.ndarray, target: np.ndarray, *, num_classes: int, ignore_index: int = IGNORE_INDEX
) -> np.ndarray:
    """[num_classes, num_classes] int64 counts, rows = ground truth, columns = prediction."""
    pred = np.asarray(pred)
    target = np.asarray(target)
    if pred.shape != target.shape:
        raise ValueError(f"prediction shape {pred.shape} != target shape {target.shape}")
    valid = target != ignore_index
    t = target[valid].astype(np.int64)
    p = pred[valid].astype(np.int64)
    if t.size and (t.max() >= num_classes or p.max() >= num_classes or min(t.min(), p.min()) < 0):
        raise ValueError(
            f"class index out of range: target max {t.max()}, prediction max {p.max()}, "
            f"num_classes {num_classes}"
        )
    return np.bincount(t * num_classes + p, minlength=num_classes**2).reshape(num_classes, num_classes)


@dataclass(frozen=True)
class SemanticScores:
    per_class_iou: list[float]  # NaN for classes absent from both truth and prediction
    miou: float
    pixel_accuracy: float

    def as_dict(self) -> dict:
        return {
            "per_class_iou": [None if math.isnan(v) else v for v in self.per_class_iou],
            "miou": self.miou,
            "pixel_accuracy": self.pixel_accuracy,
        }


def semantic_scores(confusion: np.ndarray) -> SemanticScores:
    """IoU per class = TP / (TP + FP + FN); mIoU averages the classes that occur."""
    confusion = confusion.astype(np.float64)
    tp = np.diag(confusion)
    union = confusion.sum(0) + confusion.sum(1) - tp
    with np.errstate(invalid="ignore", divide="ignore"):
        iou = np.where(union > 0, tp / union, np.nan)
    total = confusion.sum()
    return SemanticScores(
        per_class_iou=[float(v) for v in iou],
        miou=float(np.nanmean(iou)) if np.isfinite(iou).any() else float("nan"),
        pixel_accuracy=float(tp.sum() / total) if total else float("nan"),
    )


class SemanticMeter:
    """Accumulates a confusion matrix over images: `update(pred, target)`, then `scores()`."""

    def __init__(self, num_classes: int, *, ignore_index: int = IGNORE_INDEX):
        self.num_classes = num_classes
        self.ignore_index = ignore_index
        self.confusion = np.zeros((num_classes, num_classes), dtype=np.int64)

    def update(self, pred: np.ndarray, target: np.ndarray) -> None:
        self.confusion += confusion_matrix(
            pred, target, num_classes=self.num_classes, ignore_index=self.ignore_index
        )

    def scores(self) -> SemanticScores:
        return semantic_scores(self.confusion)


def binary_iou(a: np.ndarray, b: np.ndarray) -> float:
    """IoU of two boolean masks (1.0 when both are empty)."""
    a, b = np.asarray(a, dtype=bool), np.asarray(b, dtype=bool)
    union = np.logical_or(a, b).sum()
    return float(np.logical_and(a, b).sum() / union) if union else 1.0


# --- instance segmentation -------------------------------------------------------------

GroundTruth = Sequence[tuple]  # (class_index, H x W bool) or (class_index, H x W bool, iscrowd)
Prediction = Sequence[tuple[int, float, np.ndarray]]  # (class_index, score, H x W bool)


def _rle(mask: np.ndarray) -> dict:
    rle = mask_utils.encode(np.asfortranarray(np.asarray(mask, dtype=np.uint8)))
    return rle


def coco_objects(
    ground_truth: Sequence[GroundTruth],
    predictions: Sequence[Prediction],
    *,
    image_sizes: Sequence[tuple[int, int]] | None = None,
    class_indices: Sequence[int] | None = None,
) -> tuple[COCO, COCO]:
    """In-memory COCO ground truth and detections for per-image lists (same order)."""
    if len(ground_truth) != len(predictions):
        raise ValueError(
            f"{len(ground_truth)} ground-truth images but {len(predictions)} prediction images"
        )
    images, annotations, detections = [], [], []
    seen_classes: set[int] = set()
    for image_id, (gts, preds) in enumerate(zip(ground_truth, predictions), start=1):
        if image_sizes is not None:
            h, w = image_sizes[image_id - 1]
        else:
            any_mask = next(iter([g[1] for g in gts] + [m for _, _, m in preds]), None)
            if any_mask is None:
                raise ValueError(f"image {image_id - 1} has no masks; pass image_sizes")
            h, w = any_mask.shape
        images.append({"id": image_id, "height": int(h), "width": int(w)})
        for class_index, mask, *crowd in gts:
            if mask.shape != (h, w):
                raise ValueError(f"image {image_id - 1}: mask {mask.shape} != image {(h, w)}")
            rle = _rle(mask)
            annotations.append(
                {
                    "id": len(annotations) + 1,
                    "image_id": image_id,
                    "category_id": int(class_index),
                    "segmentation": rle,
                    "area": float(mask_utils.area(rle)),
                    "bbox": [float(v) for v in mask_utils.toBbox(rle)],
                    # A crowd region is scored as COCOeval does: a detection inside it is neither a true
                    # nor a false positive, and missing it is no false negative.
                    "iscrowd": int(bool(crowd and crowd[0])),
                }
            )
            seen_classes.add(int(class_index))
        for class_index, score, mask in preds:
            if mask.shape != (h, w):
                raise ValueError(f"image {image_id - 1}: mask {mask.shape} != image {(h, w)}")
            detections.append(
                {
                    "image_id": image_id,
                    "category_id": int(class_index),
                    "segmentation": _rle(mask),
                    "score": float(score),
                }
            )
            seen_classes.add(int(class_index))
    categories = sorted(set(class_indices) if class_indices is not None else seen_classes)
    gt = COCO()
    gt.dataset = {
        "images": images,
        "annotations": annotations,
        "categories": [{"id": c, "name": str(c)} for c in categories],
    }
    with contextlib.redirect_stdout(io.StringIO()):
        gt.createIndex()
        # loadRes on an empty list fails in pycocotools; an empty result set is built by hand.
        if detections:
            dt = gt.loadRes(detections)
        else:
            dt = COCO()
            dt.dataset = {"images": images, "annotations": [], "categories": gt.dataset["categories"]}
            dt.createIndex()
    return gt, dt


def instance_ap(
    ground_truth: Sequence[GroundTruth],
    predictions: Sequence[Prediction],
    *,
    image_sizes: Sequence[tuple[int, int]] | None = None,
    class_indices: Sequence[int] | None = None,
) -> dict[str, float]:
    """COCO segm AP (0.50:0.95), AP50 and AP75; NaN where pycocotools reports -1 (no data)."""
    gt, dt = coco_objects(
        ground_truth, predictions, image_sizes=image_sizes, class_indices=class_indices
    )
    if not gt.dataset["annotations"]:
        return {"ap": float("nan"), "ap50": float("nan"), "ap75": float("nan")}
    evaluator = COCOeval(gt, dt, iouType="segm")
    with contextlib.redirect_stdout(io.StringIO()):
        evaluator.evaluate()
        evaluator.accumulate()
        evaluator.summarize()
    stats = [float("nan") if s < 0 else float(s) for s in evaluator.stats[:3]]
    return {"ap": stats[0], "ap50": stats[1], "ap75": stats[2]}
