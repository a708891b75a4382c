"""Two pages of a project: the quality report (the ground-truth sample, its images, and the
annotators' scores per person and per class at the IoU threshold the user picks, with server-drawn
charts from charts.py), and the jobs panel (a shell; frontend/src/pages/jobs.ts fills it from the
jobs API and keeps it live). The numbers come from quality.quality_report, as the API's do."""
from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as PagePermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from . import charts, quality, selectors
from .errors import PermissionDenied, ValidationFailed
from .views import project_or_404


def _bars(rows: list[dict], label: str, key: str) -> list[tuple[str, float | None]]:
    return [(str(row[label]), row[key]) for row in rows]


@login_required
@require_GET
def quality_page(request: HttpRequest, project_id: int) -> HttpResponse:
    project = project_or_404(request, project_id)
    error = ""
    try:
        threshold = quality.threshold_parse(request.GET.get("iou"))
    except ValidationFailed as exc:
        threshold, error = 0.5, exc.message
    try:
        report = quality.quality_report(project=project, user=request.user, threshold=threshold)
    except PermissionDenied as exc:
        raise PagePermissionDenied(exc.message) from None
    people, classes = report.per_annotator, report.per_class
    chart_list = []
    if people:
        chart_list += [
            charts.bar_chart(_bars(people, "username", "accuracy"), title="Accuracy per annotator", name="annotator-accuracy"),
            charts.bar_chart(_bars(people, "username", "precision"), title="Precision per annotator", name="annotator-precision"),
            charts.bar_chart(_bars(people, "username", "recall"), title="Recall per annotator", name="annotator-recall"),
        ]
    if report.images_scored:
        chart_list += [
            charts.bar_chart(_bars(classes, "name", "accuracy"), title="Accuracy per class", name="class-accuracy"),
            charts.bar_chart(_bars(classes, "name", "mean_iou"), title="Mean IoU of matches per class", name="class-iou"),
        ]
    sample_images = project.images.filter(ground_truth=True).select_related("assignee").order_by("pk")
    return render(request, "annotations/quality.html", {
        "project": project, "report": report, "threshold": threshold, "error": error, "charts": chart_list,
        "sample_images": sample_images, "is_owner": selectors.membership_role(user=request.user, project=project) == "owner",
        "percent_min": quality.PERCENT_MIN, "percent_max": quality.PERCENT_MAX,
    })


@login_required
@require_GET
def jobs_page(request: HttpRequest, project_id: int) -> HttpResponse:
    project = project_or_404(request, project_id)
    return render(request, "annotations/jobs.html", {"project": project})
