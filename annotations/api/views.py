"""API views: each handles one operation in a few lines, delegating to selectors and services."""
from __future__ import annotations

from django.db.models import Count
from django.http import FileResponse
from django.utils.http import parse_etags
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.pagination import PageNumberPagination
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from annotations import ingest, jobs, quality, selectors, services
from annotations.errors import NotFound, ValidationFailed
from annotations.models import Image, Membership
from annotations.training_selectors import next_image

from . import serializers as s
from .schema import LabelerAutoSchema, paginated

ANY_ROLE = Membership.Role.values
EDITORS = [Membership.Role.OWNER, Membership.Role.ANNOTATOR, Membership.Role.REVIEWER]
UPLOADERS = [Membership.Role.OWNER, Membership.Role.ANNOTATOR]
OWNERS = [Membership.Role.OWNER]


class Pages(PageNumberPagination):
    page_size_query_param = "page_size"
    max_page_size = 500


class ProjectListApi(APIView):
    @extend_schema(responses=s.ProjectOut(many=True), parameters=[
        OpenApiParameter("archived", bool, description="list the archived projects instead of the active ones"),
    ])
    def get(self, request: Request) -> Response:
        archived = request.query_params.get("archived", "").lower() in ("1", "true", "yes")
        projects = selectors.project_list(user=request.user, archived=archived).annotate(image_count=Count("images", distinct=True))
        return Response(s.ProjectOut(projects.prefetch_related("label_classes"), many=True).data)

    @extend_schema(request=s.ProjectIn, responses={201: s.ProjectOut})
    def post(self, request: Request) -> Response:
        data = s.ProjectIn(data=request.data)
        data.is_valid(raise_exception=True)
        project = services.project_create(owner=request.user, **data.validated_data)
        return Response(s.ProjectOut(project).data, status=status.HTTP_201_CREATED)


class ProjectDetailApi(APIView):
    @extend_schema(responses=s.ProjectOut)
    def get(self, request: Request, project_id: int) -> Response:
        return Response(s.ProjectOut(selectors.project_get(user=request.user, project_id=project_id)).data)

    @extend_schema(request=s.ProjectPatchIn, responses=s.ProjectOut)
    def patch(self, request: Request, project_id: int) -> Response:
        """Owners edit the project, archive it (it leaves the project list) or unarchive it."""
        project = selectors.project_get(user=request.user, project_id=project_id)
        services.require_role(project=project, user=request.user, roles=OWNERS)
        data = s.ProjectPatchIn(data=request.data)
        data.is_valid(raise_exception=True)
        return Response(s.ProjectOut(services.project_update(project=project, **data.validated_data)).data)


class LabelClassListApi(APIView):
    @extend_schema(responses=s.LabelClassOut(many=True))
    def get(self, request: Request, project_id: int) -> Response:
        project = selectors.project_get(user=request.user, project_id=project_id)
        return Response(s.LabelClassOut(selectors.label_class_list(project=project), many=True).data)

    @extend_schema(request=s.LabelClassIn, responses={201: s.LabelClassOut})
    def post(self, request: Request, project_id: int) -> Response:
        project = selectors.project_get(user=request.user, project_id=project_id)
        services.require_role(project=project, user=request.user, roles=OWNERS)
        data = s.LabelClassIn(data=request.data)
        data.is_valid(raise_exception=True)
        label_class = services.label_class_create(project=project, **data.validated_data)
        return Response(s.LabelClassOut(label_class).data, status=status.HTTP_201_CREATED)


class ImageListApi(APIView):
    parser_classes = [MultiPartParser, FormParser, JSONParser]

    @extend_schema(responses=paginated(s.ImageOut, Pages), parameters=[
        OpenApiParameter("status", {"type": "array", "items": {"type": "string", "enum": Image.Status.values}}, style="form",
                         explode=False, description="only images with one of these statuses (comma-separated)"),
        OpenApiParameter("ordering", str, enum=["id", "uncertainty"], description="id (default) or most uncertain first"),
        OpenApiParameter("assignee", str, description='only images assigned to this user name ("none": unassigned ones)'),
        OpenApiParameter("split", str, description='only images of this split ("none": images without one)'),
        OpenApiParameter("name", str, description="only images whose file name contains this (any case)"),
    ])
    def get(self, request: Request, project_id: int) -> Response:
        q = request.query_params
        images = selectors.image_list(
            user=request.user, project_id=project_id, order=q.get("ordering", "id"),
            filters=selectors.ImageFilters(status=q.get("status"), assignee=q.get("assignee"), split=q.get("split"), name=q.get("name")),
        ).select_related("assignee")
        paginator = Pages()
        page = paginator.paginate_queryset(images, request, view=self)
        return paginator.get_paginated_response(s.ImageOut(page, many=True).data)

    @extend_schema(request={"multipart/form-data": s.ImageUploadIn}, responses={201: s.ImportResultOut})
    def post(self, request: Request, project_id: int) -> Response:
        project = selectors.project_get(user=request.user, project_id=project_id)
        services.require_role(project=project, user=request.user, roles=UPLOADERS)
        files = request.FILES.getlist("files")
        archive = request.FILES.get("archive")
        result = ingest.images_import(
            project=project, user=request.user, files=[(f.name, f) for f in files] if files else None, zip_file=archive,
        )
        out = {
            "created": s.ImageOut(result.created, many=True).data,
            "duplicates": result.duplicates,
            "thumbnail_job": result.thumbnail_job.pk if result.thumbnail_job else None,
        }
        return Response(out, status=status.HTTP_201_CREATED)


class ImageDetailApi(APIView):
    @extend_schema(responses=s.ImageDetailOut)
    def get(self, request: Request, image_id: int) -> Response:
        image = selectors.image_get(user=request.user, image_id=image_id)
        image.prev_id, image.next_id = selectors.image_neighbours(image=image, user=request.user)
        suggested, _ = next_image(project=image.project, after=image.pk, user=request.user)
        image.next_suggested_id = suggested.pk if suggested else None
        return Response(s.ImageDetailOut(image).data)

    @extend_schema(request=s.ImagePatchIn, responses=s.ImageOut)
    def patch(self, request: Request, image_id: int) -> Response:
        image = selectors.image_get(user=request.user, image_id=image_id)
        services.require_role(project=image.project, user=request.user, roles=EDITORS, role=image.viewer_role)
        data = s.ImagePatchIn(data=request.data)
        data.is_valid(raise_exception=True)
        image = services.image_status_set(image=image, user=request.user, **data.validated_data)
        return Response(s.ImageOut(image).data)


def _document(image, ground_truth: bool = False, rows: list[tuple] | None = None) -> dict:
    """DocumentOut's JSON (serializers.document_rows builds the annotations' part in one query): the image's
    work, or its ground-truth document (which has no void region of its own). `rows`: the
    document's rows where a save already holds them (DocumentSaved.rows), so they are not read back."""
    if rows is None:
        rows = s.document_rows(image, ground_truth=ground_truth)
    else:
        rows = s.format_rows(rows, height=image.height, width=image.width)
    return {"image": image.pk, "version": _version(image, ground_truth), "width": image.width, "height": image.height,
            "annotations": rows, "void": None if ground_truth else selectors.image_void_rle(image)}


def _version(image, ground_truth: bool) -> int:
    return image.ground_truth_version if ground_truth else image.annotation_version


def _etag(image, ground_truth: bool = False) -> str:
    """The document's entity tag: every write to a document bumps its version (documents_commit)."""
    return f'"doc-{image.pk}-{"gt" if ground_truth else "v"}{_version(image, ground_truth)}"'


# The editor's browser may keep the document, and asks again with If-None-Match each time.
_DOCUMENT_CACHING = {"Cache-Control": "private, no-cache"}

DOCUMENT_SET = OpenApiParameter(
    "set", str, enum=["work", "ground_truth"],
    description="work (default): the annotators' document; ground_truth: the image's ground truth (owners and reviewers, sample images)",
)


def _is_ground_truth(request: Request) -> bool:
    value = request.query_params.get("set", "work")
    if value not in ("work", "ground_truth"):
        raise ValidationFailed(f"set: use work or ground_truth, got {value!r}")
    return value == "ground_truth"


class _WholeBodySchema(LabelerAutoSchema):
    """The delta's PATCH body is validated whole (its version is required), not as a partial
    document, so its schema component is DocumentDeltaIn, not PatchedDocumentDeltaIn."""

    def _get_request_for_media_type(self, serializer, direction="request"):
        method = self.method
        self.method = "POST" if method == "PATCH" else method
        try:
            return super()._get_request_for_media_type(serializer, direction)
        finally:
            self.method = method


class AnnotationDocumentApi(APIView):
    schema = _WholeBodySchema()

    @extend_schema(
        responses={200: s.DocumentOut, 304: OpenApiResponse(description="the document is still the version named by If-None-Match")},
        parameters=[DOCUMENT_SET, OpenApiParameter("If-None-Match", str, OpenApiParameter.HEADER, required=False,
                                                   description="the ETag of a document you hold: 304 while it is current")],
    )
    def get(self, request: Request, image_id: int) -> Response:
        image = selectors.image_get(user=request.user, image_id=image_id)
        truth = _is_ground_truth(request)
        if truth:
            quality.ground_truth_read_check(image=image, user=request.user)
        etag = _etag(image, truth)
        if etag in parse_etags(request.headers.get("If-None-Match", "")):
            return Response(status=status.HTTP_304_NOT_MODIFIED, headers={"ETag": etag, **_DOCUMENT_CACHING})
        return Response(_document(image, truth), headers={"ETag": etag, **_DOCUMENT_CACHING})

    @extend_schema(request=s.DocumentIn, responses={200: s.SavedDocumentOut}, parameters=[DOCUMENT_SET])
    def put(self, request: Request, image_id: int) -> Response:
        """Replace the whole document (for scripts; the editor sends deltas with PATCH)."""
        image = selectors.image_get(user=request.user, image_id=image_id)
        services.require_role(project=image.project, user=request.user, roles=EDITORS, role=image.viewer_role)
        truth = _is_ground_truth(request)
        data = s.DocumentIn(data=request.data)
        data.is_valid(raise_exception=True)
        saved = services.annotation_document_save(image=image, user=request.user, ground_truth=truth, **data.validated_data)
        return Response({**_document(saved.image, truth, saved.rows), "saved_ids": saved.saved_ids},
                        headers={"ETag": _etag(saved.image, truth)})

    @extend_schema(request=s.DocumentDeltaIn, responses={200: s.DocumentDeltaOut}, parameters=[DOCUMENT_SET])
    def patch(self, request: Request, image_id: int) -> Response:
        """Save what changed: new and changed annotations (upsert) and deleted ones, on the version read."""
        image = selectors.image_get(user=request.user, image_id=image_id)
        services.require_role(project=image.project, user=request.user, roles=EDITORS, role=image.viewer_role)
        truth = _is_ground_truth(request)
        data = s.DocumentDeltaIn(data=request.data)
        data.is_valid(raise_exception=True)
        saved = services.annotation_document_patch(image=image, user=request.user, ground_truth=truth, **data.validated_data)
        wanted = set(saved.saved_ids)
        rows = ([row for row in saved.rows if row[0] in wanted] if saved.rows is not None else
                selectors.document_row_values(selectors.annotation_list(image=saved.image, ground_truth=truth).filter(pk__in=wanted)))
        by_id = {row["id"]: row for row in s.format_rows(rows, height=image.height, width=image.width)}
        return Response({
            "image": image.pk, "version": saved.version, "annotations": [by_id[pk] for pk in saved.saved_ids],
            "saved_ids": saved.saved_ids, "deleted_ids": saved.deleted_ids,
        }, headers={"ETag": _etag(saved.image, truth)})


class JobListApi(APIView):
    @extend_schema(responses=paginated(s.JobOut, Pages))
    def get(self, request: Request, project_id: int) -> Response:
        selectors.project_get(user=request.user, project_id=project_id)
        paginator = Pages()
        page = paginator.paginate_queryset(selectors.job_list(user=request.user, project_id=project_id), request, view=self)
        return paginator.get_paginated_response(s.JobOut(page, many=True).data)


class JobDetailApi(APIView):
    @extend_schema(responses=s.JobOut)
    def get(self, request: Request, job_id: int) -> Response:
        return Response(s.JobOut(selectors.job_get(user=request.user, job_id=job_id)).data)


class JobCancelApi(APIView):
    @extend_schema(request=None, responses={200: s.JobOut, 503: s.ErrorOut})
    def post(self, request: Request, job_id: int) -> Response:
        job = selectors.job_get(user=request.user, job_id=job_id)
        services.require_role(project=job.project, user=request.user, roles=UPLOADERS)
        return Response(s.JobOut(jobs.job_cancel(job=job)).data)


class JobDownloadApi(APIView):
    @extend_schema(responses={(200, "application/zip"): bytes})
    def get(self, request: Request, job_id: int) -> FileResponse:
        job = selectors.job_get(user=request.user, job_id=job_id)
        if not job.result_file:
            raise NotFound(f"job {job_id} has no file to download")
        return FileResponse(job.result_file.open("rb"), as_attachment=True, filename=job.result_file.name.rsplit("/", 1)[-1])
