"""API routes under /api/."""
from django.urls import path
from drf_spectacular.views import SpectacularAPIView
from rest_framework.authtoken.views import obtain_auth_token

from . import views

urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("auth/token/", obtain_auth_token, name="api-token"),
    path("projects/", views.ProjectListApi.as_view(), name="api-projects"),
    path("projects/<int:project_id>/", views.ProjectDetailApi.as_view(), name="api-project"),
    path("projects/<int:project_id>/label-classes/", views.LabelClassListApi.as_view(), name="api-label-classes"),
    path("projects/<int:project_id>/images/", views.ImageListApi.as_view(), name="api-images"),
    path("projects/<int:project_id>/jobs/", views.JobListApi.as_view(), name="api-jobs"),
    path("projects/<int:project_id>/models/", views.ModelVersionListApi.as_view(), name="api-models"),
    path("images/<int:image_id>/", views.ImageDetailApi.as_view(), name="api-image"),
    path("images/<int:image_id>/annotations/", views.AnnotationDocumentApi.as_view(), name="api-annotations"),
    path("jobs/<int:job_id>/", views.JobDetailApi.as_view(), name="api-job"),
    path("jobs/<int:job_id>/cancel/", views.JobCancelApi.as_view(), name="api-job-cancel"),
    path("jobs/<int:job_id>/download/", views.JobDownloadApi.as_view(), name="api-job-download"),
]
