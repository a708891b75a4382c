"""Reads for the active-learning loop: model versions side by side, and the next image to label.

Kept apart from selectors.py so the train/evaluate feature stays in its own modules; no torch.
"""
from __future__ import annotations

from django.db.models import F

from . import selectors
from .corrections import correction_effort, empty_effort
from .models import Image, ModelVersion, Project

def _training_summary(version: ModelVersion) -> dict:
    t = version.training or {}
    return {k: t[k] for k in ("images", "epochs_completed", "elapsed_s", "stopped", "recipe", "job") if k in t}


def version_comparison(*, project: Project) -> list[dict]:
    """All versions of a project side by side: metrics, what they were trained on, correction effort."""
    effort = correction_effort(project=project)
    return [
        {"id": v.pk, "name": v.name, "architecture": v.architecture, "source": v.source, "parent": v.parent_id,
         "created_at": v.created_at, "metrics": {k: val for k, val in (v.metrics or {}).items() if k != "image_ids"},
         "training": _training_summary(v), "correction_effort": effort.get(v.pk, empty_effort())}
        for v in selectors.model_version_list(project=project)
    ]


def next_image(*, project: Project, after: int | None) -> tuple[Image | None, str]:
    """The most uncertain image with work left (Image.OPEN), else the next one by id
    after `after` (wrapping round). `after` itself is never the answer: it was just saved."""
    candidates = project.images.filter(status__in=Image.OPEN)
    if after is not None:
        candidates = candidates.exclude(pk=after)
    scored = candidates.filter(uncertainty__isnull=False).order_by(F("uncertainty").desc(), "pk").first()
    if scored is not None:
        return scored, "uncertainty"
    following = candidates.filter(pk__gt=after).order_by("pk").first() if after is not None else None
    return following or candidates.order_by("pk").first(), "order"
