"""API routes under /api/."""
from django.urls import path
from drf_spectacular.views import SpectacularAPIView
from rest_framework.authtoken.views import obtain_auth_token

from . import assist_views, dataset_views, member_views, model_views, quality_views, team_views, training_views, views

urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("auth/token/", obtain_auth_token, name="api-token"),
    path("projects/", views.ProjectListApi.as_view(), name="api-projects"),
    path("projects/<int:project_id>/", views.ProjectDetailApi.as_view(), name="api-project"),
    path("projects/<int:project_id>/members/", member_views.MemberListApi.as_view(), name="api-members"),
    path("projects/<int:project_id>/members/<str:username>/", member_views.MemberDetailApi.as_view(), name="api-member"),
    path("invitations/accept/", member_views.InvitationAcceptApi.as_view(), name="api-invitation-accept"),
    path("projects/<int:project_id>/label-classes/", views.LabelClassListApi.as_view(), name="api-label-classes"),
    path("projects/<int:project_id>/images/", views.ImageListApi.as_view(), name="api-images"),
    path("projects/<int:project_id>/jobs/", views.JobListApi.as_view(), name="api-jobs"),
    path("projects/<int:project_id>/models/", model_views.ModelVersionListApi.as_view(), name="api-models"),
    path("projects/<int:project_id>/prelabel/", model_views.PrelabelStartApi.as_view(), name="api-prelabel"),
    # Train / evaluate / compare model versions, and the active-learning "next image".
    path("projects/<int:project_id>/train/", training_views.TrainStartApi.as_view(), name="api-train"),
    path("projects/<int:project_id>/models/compare/", training_views.ModelCompareApi.as_view(), name="api-models-compare"),
    path("projects/<int:project_id>/models/<int:version_id>/evaluate/", training_views.EvaluateStartApi.as_view(), name="api-model-evaluate"),
    path("projects/<int:project_id>/next-image/", training_views.NextImageApi.as_view(), name="api-next-image"),
    # Dataset export / import (Jobs); the zip downloads through jobs/<id>/download/.
    path("projects/<int:project_id>/exports/", dataset_views.ExportStartApi.as_view(), name="api-exports"),
    path("projects/<int:project_id>/imports/", dataset_views.ImportStartApi.as_view(), name="api-imports"),
    path("images/<int:image_id>/assist/", assist_views.AssistApi.as_view(), name="api-assist"),
    path("images/<int:image_id>/superpixels/", assist_views.SuperpixelsApi.as_view(), name="api-superpixels"),
    path("images/<int:image_id>/", views.ImageDetailApi.as_view(), name="api-image"),
    path("images/<int:image_id>/annotations/", views.AnnotationDocumentApi.as_view(), name="api-annotations"),
    path("jobs/<int:job_id>/", views.JobDetailApi.as_view(), name="api-job"),
    path("jobs/<int:job_id>/cancel/", views.JobCancelApi.as_view(), name="api-job-cancel"),
    path("jobs/<int:job_id>/download/", views.JobDownloadApi.as_view(), name="api-job-download"),
    # The team's workflow (issue 16): class editing, bulk image actions, review.
    path("projects/<int:project_id>/label-classes/<int:class_id>/", team_views.LabelClassDetailApi.as_view(), name="api-label-class"),
    path("projects/<int:project_id>/images/bulk/", team_views.ImageBulkApi.as_view(), name="api-images-bulk"),
    path("images/<int:image_id>/review/", team_views.ImageReviewApi.as_view(), name="api-image-review"),
    # Ground-truth quality control and an image's history (annotations/quality.py, history.py).
    path("projects/<int:project_id>/ground-truth/", quality_views.GroundTruthSampleApi.as_view(), name="api-ground-truth"),
    path("projects/<int:project_id>/quality/", quality_views.QualityReportApi.as_view(), name="api-quality"),
    path("images/<int:image_id>/revisions/", quality_views.RevisionListApi.as_view(), name="api-revisions"),
    path("images/<int:image_id>/revisions/<int:revision_id>/", quality_views.RevisionDetailApi.as_view(), name="api-revision"),
    path("images/<int:image_id>/revisions/<int:revision_id>/restore/", quality_views.RevisionRestoreApi.as_view(),
         name="api-revision-restore"),
]
