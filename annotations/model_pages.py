"""The models page: a project's versions side by side (metrics, training, correction effort)."""
from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from .models import Job
from .training_selectors import version_comparison
from .views import project_or_404


@login_required
@require_GET
def models_page(request: HttpRequest, project_id: int) -> HttpResponse:
    project = project_or_404(request, project_id)
    versions = version_comparison(project=project)
    class_names = sorted({name for v in versions for name in (v["metrics"].get("per_class_iou") or {})})
    for v in versions:
        per_class = v["metrics"].get("per_class_iou") or {}
        v["per_class_row"] = [per_class.get(name) for name in class_names]
    jobs = project.jobs.filter(kind__in=[Job.Kind.TRAIN, Job.Kind.EVALUATE])[:10]
    return render(request, "annotations/models.html", {
        "project": project, "versions": versions, "class_names": class_names, "jobs": jobs,
    })
