"""Model-backed assists asked for by the editor: which model version answers, the box checks, and
the wait for the warm gpu worker's answer (a task a request waits on, through annotations.jobs)."""
from __future__ import annotations

from typing import Any

from . import selectors
from .errors import Conflict, DomainError, ValidationFailed
from .jobs import ASSIST_TASK, task_call
from .models import Image

ASSIST_TIMEOUT_S = 60


def box_to_mask(
    *, image: Image, box: list[float], label_class: int | None = None, model_version: int | None = None,
) -> dict[str, Any]:
    """The mask of the object inside `box` ([x, y, w, h]) from `model_version` (default: the
    project's newest), as {mask, area, model_version, model_ms}."""
    x, y, w, h = box
    if w < 1 or h < 1:
        raise ValidationFailed(f"the box {box} is empty")
    if model_version is not None:
        version = selectors.model_version_get(project=image.project, version_id=model_version)
    else:
        version = image.project.model_versions.order_by("-created_at", "-pk").first()
        if version is None:
            raise Conflict("no model version in this project yet: train or register one to use the assist tool")
    answer = task_call(ASSIST_TASK, [image.pk, list(box), label_class, version.pk], timeout_s=ASSIST_TIMEOUT_S)
    if "error" in answer:
        error = DomainError(answer["error"])
        error.status = answer.get("status", 400)
        raise error
    return answer
