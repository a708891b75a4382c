"""Reads for the active-learning loop: model versions side by side, and the next image to label.

Kept apart from selectors.py so the train/evaluate feature stays in its own modules; no torch.
"""
from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import F

from . import selectors
from .corrections import correction_effort, empty_effort, scratch_effort
from .models import Image, ModelVersion, Project

# What a version's training record shows (the split and class ids stay on the row); any may be
# missing on versions trained elsewhere or before the key existed.
TRAINING_SUMMARY_KEYS = ("images", "epochs_completed", "steps", "elapsed_s", "stopped", "recipe", "job",
                         "history", "best_epoch", "best_metric", "peak_rss_mb")


def _training_summary(version: ModelVersion) -> dict:
    t = version.training or {}
    return {k: t[k] for k in TRAINING_SUMMARY_KEYS if k in t}


def version_comparison(*, project: Project) -> list[dict]:
    """All versions of a project side by side: metrics, what they were trained on, correction effort."""
    scratch = scratch_effort(project=project)
    effort = correction_effort(project=project, scratch=scratch)
    return [
        {"id": v.pk, "name": v.name, "architecture": v.architecture, "source": v.source, "parent": v.parent_id,
         "created_at": v.created_at, "metrics": {k: val for k, val in (v.metrics or {}).items() if k != "image_ids"},
         "training": _training_summary(v), "correction_effort": effort.get(v.pk) or empty_effort(scratch=scratch)}
        for v in selectors.model_version_list(project=project)
    ]


def next_image(*, project: Project, after: int | None, user: AbstractBaseUser | None = None) -> tuple[Image | None, str]:
    """The most uncertain image with work left (Image.OPEN), else the next one by id
    after `after` (wrapping round). `after` itself is never the answer: it was just saved.

    With `user`: only images they may open (selectors.image_visibility), and the ones assigned to
    them first; "assigned" prefixes the reason when the answer is one of those."""
    candidates = project.images.filter(status__in=Image.OPEN)
    if after is not None:
        candidates = candidates.exclude(pk=after)
    if user is not None:
        visible = selectors.image_visibility(user=user, project=project)
        if visible is not None:
            candidates = candidates.filter(visible)
        mine = candidates.filter(assignee_id=user.pk)
        if mine.exists():
            image, reason = _next_of(mine, after)
            return image, f"assigned, {reason}"
    return _next_of(candidates, after)


def _next_of(candidates, after: int | None) -> tuple[Image | None, str]:
    scored = candidates.filter(uncertainty__isnull=False).order_by(F("uncertainty").desc(), "pk").first()
    if scored is not None:
        return scored, "uncertainty"
    following = candidates.filter(pk__gt=after).order_by("pk").first() if after is not None else None
    return following or candidates.order_by("pk").first(), "order"
