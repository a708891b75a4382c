"""Top-level routes: pages, the API under /api/, auth, admin, and member-only media."""
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from annotations import model_pages, quality_pages, views

urlpatterns = [
    path("", views.project_list_page, name="projects"),
    path("projects/<int:project_id>/", views.project_page, name="project"),
    path("projects/<int:project_id>/models/", model_pages.models_page, name="models"),
    path("projects/<int:project_id>/images/<int:image_id>/edit/", views.editor_page, name="editor"),
    path("media/<path:path>", views.media_file, name="media"),
    # The team's pages (issue 16): label classes, members, project settings.
    path("projects/<int:project_id>/classes/", views.classes_page, name="classes"),
    path("projects/<int:project_id>/members/", views.members_page, name="members"),
    path("projects/<int:project_id>/settings/", views.settings_page, name="project-settings"),
    path("projects/<int:project_id>/quality/", quality_pages.quality_page, name="quality"),
    path("projects/<int:project_id>/jobs/", quality_pages.jobs_page, name="jobs"),
    path("api/", include("annotations.api.urls")),
    path("accounts/login/", auth_views.LoginView.as_view(template_name="annotations/login.html"), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
]

# Django's own error answers: the API's one error shape under /api/, a plain page elsewhere.
handler400 = "annotations.api.errors.handler400"
handler403 = "annotations.api.errors.handler403"
handler404 = "annotations.api.errors.handler404"
handler500 = "annotations.api.errors.handler500"
