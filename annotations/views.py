"""Server-rendered pages: project list, a project's images, the editor shell, and media for members."""
from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from . import selectors, train_presets
from .errors import NotFound
from .models import Image


def project_or_404(request: HttpRequest, project_id: int):
    """The member's project, or the page's 404 (pages answer Http404 where the API answers NotFound)."""
    try:
        return selectors.project_get(user=request.user, project_id=project_id)
    except NotFound:
        raise Http404("project not found") from None


@login_required
@require_GET
def project_list_page(request: HttpRequest) -> HttpResponse:
    projects = selectors.project_list(user=request.user).annotate(
        image_count=Count("images", distinct=True),
        done_count=Count("images", filter=Q(images__status__in=Image.APPROVED), distinct=True),
    )
    return render(request, "annotations/project_list.html", {"projects": projects})


@login_required
@require_GET
def project_page(request: HttpRequest, project_id: int) -> HttpResponse:
    project = project_or_404(request, project_id)
    status = request.GET.get("status") or None
    images = selectors.image_list(user=request.user, project_id=project.pk, status=status, order=request.GET.get("ordering", "id"))
    page = Paginator(images, 60).get_page(request.GET.get("page"))
    return render(request, "annotations/project.html", {
        "project": project, "page": page, "status": status, "statuses": Image.Status.choices,
        "label_classes": project.label_classes.all(), "jobs": project.jobs.all()[:15],
        "model_versions": selectors.model_version_list(project=project).order_by("-id"),
        "is_owner": selectors.membership_role(user=request.user, project=project) == "owner",
        "train_choices": train_presets.form_choices(),
    })


@login_required
@require_GET
def editor_page(request: HttpRequest, project_id: int, image_id: int) -> HttpResponse:
    try:
        image = selectors.image_get(user=request.user, image_id=image_id)
    except NotFound:
        raise Http404("image not found") from None
    if image.project_id != project_id:
        raise Http404("image not in this project")
    document_set = "ground_truth" if request.GET.get("set") == "ground_truth" else "work"  # the API checks who may
    return render(request, "annotations/editor.html", {"project": image.project, "image": image, "document_set": document_set})


@login_required
@require_GET
def media_file(request: HttpRequest, path: str) -> FileResponse:
    """Image files and thumbnails, only for members of a project that holds them."""
    file = selectors.media_file_get(user=request.user, path=path)
    if file is None:
        raise Http404("no such file")
    response = FileResponse(file.open("rb"))
    response["Cache-Control"] = "private, max-age=31536000, immutable"  # content-addressed
    return response
