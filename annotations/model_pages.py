"""The models page: a project's versions side by side (metrics, training, correction effort), and
per version how it learned: loss and validation metric per epoch, per-class IoU, the confusion
matrix of a semantic net and the recipe it was trained with. Charts are SVG drawn here
(annotations/charts.py); a version missing any of it (trained elsewhere, older) shows the rest."""
from __future__ import annotations

import json
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from . import architectures, charts
from .models import Job
from .training_selectors import version_comparison
from .views import project_or_404

# Shown first, in this order; any other key the recipe holds follows.
RECIPE_ORDER = ("crop_size", "batch_size", "numerics", "steps_planned", "steps_done", "epochs", "minutes", "lr", "losses",
                "class_weights", "dice_weight", "ema_decay", "augmentation", "augment", "optimizer", "schedule", "image_size",
                "builder_kwargs", "seed")


def _float(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _series(history: list, key: str) -> list[charts.Point]:
    points = []
    for entry in history:
        if not isinstance(entry, dict):
            continue
        x, y = _float(entry.get("epoch")), _float(entry.get(key))
        if x is not None and y is not None:
            points.append(charts.Point(x, y, partial=bool(entry.get("partial"))))
    return points


def _shown(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, (dict, list)):
        return json.dumps(value, separators=(", ", ": "))
    return str(value)


def _recipe_rows(training: dict) -> list[tuple[str, str]]:
    recipe = training.get("recipe") if isinstance(training.get("recipe"), dict) else {}
    keys = [k for k in RECIPE_ORDER if k in recipe] + sorted(k for k in recipe if k not in RECIPE_ORDER)
    rows = [(k.replace("_", " "), _shown(recipe[k])) for k in keys if recipe[k] is not None]
    for key, label in (("steps", "optimizer steps"), ("best_epoch", "best epoch (kept)"), ("best_metric", "best validation metric"),
                       ("peak_rss_mb", "peak memory (MB)"), ("elapsed_s", "training time (s)"), ("stopped", "stopped")):
        if training.get(key) is not None:
            rows.append((label, _shown(training[key])))
    return rows


def _learning(v: dict) -> dict:
    """The charts and recipe of one version, as the template shows them."""
    training, metrics = v["training"], v["metrics"]
    history = training.get("history") if isinstance(training.get("history"), list) else []
    metric_name = metrics.get("metric_name") or ("AP" if v["architecture"] in architectures.INSTANCE else "mIoU")
    best = _float(training.get("best_epoch"))
    out: dict[str, Any] = {"epochs": len(history), "recipe": _recipe_rows(training)}
    if history:
        out["loss_chart"] = charts.line_chart(_series(history, "loss"), title="Training loss per epoch", y_label="loss",
                                              name="loss", best_x=best)
        metric_points = _series(history, "metric")
        if metric_points:
            out["metric_chart"] = charts.line_chart(metric_points, title=f"Validation {metric_name} per epoch",
                                                    y_label=metric_name, name="metric", y_range=(0.0, 1.0), best_x=best)
    per_class = metrics.get("per_class_iou")
    if isinstance(per_class, dict) and per_class:
        out["iou_chart"] = charts.bar_chart([(str(k), _float(val)) for k, val in per_class.items()],
                                            title="IoU per class (held-out images)", name="iou")
    confusion = metrics.get("confusion")
    if isinstance(confusion, dict):
        try:
            out["confusion_chart"] = charts.confusion_heatmap(
                [str(c) for c in confusion.get("classes") or []], confusion.get("counts") or [],
                title="Confusion matrix (pixels; rows = truth, shade = share of the row)")
        except (TypeError, ValueError):
            pass  # a malformed record shows nothing rather than a 500
    return out


@login_required
@require_GET
def models_page(request: HttpRequest, project_id: int) -> HttpResponse:
    project = project_or_404(request, project_id)
    versions = version_comparison(project=project)
    class_names = sorted({name for v in versions for name in (v["metrics"].get("per_class_iou") or {})})
    for v in versions:
        per_class = v["metrics"].get("per_class_iou") or {}
        v["per_class_row"] = [per_class.get(name) for name in class_names]
        v["learning"] = _learning(v)
    scratch = versions[0]["correction_effort"] if versions else {}
    jobs = project.jobs.filter(kind__in=[Job.Kind.TRAIN, Job.Kind.EVALUATE])[:10]
    return render(request, "annotations/models.html", {
        "project": project, "versions": versions, "class_names": class_names, "jobs": jobs,
        "scratch": {"images": scratch.get("scratch_images"), "pixels_per_image": scratch.get("scratch_pixels_per_image")},
    })
