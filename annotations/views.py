"""Server-rendered pages: the project list, a project's images grid, its label classes, members and
settings, the editor shell, and media for members. Pages read through selectors; every change is
made by the page's script (frontend/src/pages/) through the REST API, so the API's rules are the
pages' rules."""
from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Count
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from . import media, selectors, train_presets
from .errors import NotFound, PermissionDenied
from .models import Image, LabelClass, Membership

GRID_PAGE_SIZE = 60


def project_or_404(request: HttpRequest, project_id: int):
    """The member's project, or the page's 404 (pages answer Http404 where the API answers NotFound)."""
    try:
        return selectors.project_get(user=request.user, project_id=project_id)
    except NotFound:
        raise Http404("project not found") from None


def _role(request: HttpRequest, project) -> str | None:
    return selectors.membership_role(user=request.user, project=project)


@login_required
@require_GET
def project_list_page(request: HttpRequest) -> HttpResponse:
    archived = request.GET.get("archived") == "1"
    projects = list(selectors.project_list(user=request.user, archived=archived))
    progress = selectors.project_progress(projects=projects)
    rows = [{"project": p, **progress[p.pk]} for p in projects]
    return render(request, "annotations/project_list.html", {"rows": rows, "archived": archived})


def _grid_filters(request: HttpRequest) -> selectors.ImageFilters:
    get = request.GET
    return selectors.ImageFilters(status=get.get("status") or None, assignee=get.get("assignee") or None,
                                  split=get.get("split") or None, name=(get.get("name") or "").strip() or None)


@login_required
@require_GET
def project_page(request: HttpRequest, project_id: int) -> HttpResponse:
    project = project_or_404(request, project_id)
    role = _role(request, project)
    filters = _grid_filters(request)
    ordering = "uncertainty" if request.GET.get("ordering") == "uncertainty" else "id"
    images = selectors.image_list(user=request.user, project_id=project.pk, order=ordering, filters=filters).select_related("assignee")
    page = Paginator(images, GRID_PAGE_SIZE).get_page(request.GET.get("page"))
    splits = list(project.images.exclude(split="").order_by().values_list("split", flat=True).distinct()[:50])
    return render(request, "annotations/project.html", {
        "project": project, "page": page, "filters": filters, "ordering": ordering, "statuses": Image.Status.choices,
        "members": selectors.project_member_names(project=project), "splits": splits,
        "label_classes": project.label_classes.all(), "jobs": project.jobs.all()[:15],
        "model_versions": selectors.model_version_list(project=project).order_by("-id"),
        "role": role, "is_owner": role == Membership.Role.OWNER,
        "train_choices": train_presets.form_choices(),
    })


@login_required
@require_GET
def classes_page(request: HttpRequest, project_id: int) -> HttpResponse:
    project = project_or_404(request, project_id)
    classes = selectors.label_class_list(project=project).annotate(annotation_count=Count("annotations"))
    return render(request, "annotations/classes.html", {
        "project": project, "label_classes": classes, "kinds": LabelClass.Kind.choices,
        "is_owner": _role(request, project) == Membership.Role.OWNER,
    })


@login_required
@require_GET
def members_page(request: HttpRequest, project_id: int) -> HttpResponse:
    project = project_or_404(request, project_id)
    return render(request, "annotations/members.html", {
        "project": project, "members": selectors.project_member_names(project=project), "roles": Membership.Role.choices,
        "is_owner": _role(request, project) == Membership.Role.OWNER,
    })


@login_required
@require_GET
def settings_page(request: HttpRequest, project_id: int) -> HttpResponse:
    project = project_or_404(request, project_id)
    return render(request, "annotations/settings.html", {
        "project": project, "is_owner": _role(request, project) == Membership.Role.OWNER,
    })


@login_required
@require_GET
def editor_page(request: HttpRequest, project_id: int, image_id: int) -> HttpResponse:
    try:
        image = selectors.image_get(user=request.user, image_id=image_id)
    except NotFound:
        raise Http404("image not found") from None
    except PermissionDenied as exc:
        return render(request, "annotations/denied.html", {"message": exc.message, "project_id": project_id}, status=403)
    if image.project_id != project_id:
        raise Http404("image not in this project")
    document_set = "ground_truth" if request.GET.get("set") == "ground_truth" else "work"  # the API checks who may
    return render(request, "annotations/editor.html", {
        "project": image.project, "image": image, "role": _role(request, image.project), "document_set": document_set,
        "image_url": media.url(image.file.name),  # the editor starts the photo's request at once (as ImageOut.url)
    })


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
