"""Job bodies for model registration (uploads are checked on the gpu worker, where torch lives)."""
from __future__ import annotations

from pathlib import Path

from django.conf import settings

from annotations.jobs import JobReporter
from annotations.models import Project

from .model_versions import model_version_register, model_version_register_torchvision


def run_register_model(job_id: int) -> None:
    reporter = JobReporter(job_id)
    job = reporter.start(total=1)
    if job is None:
        return
    params = job.params
    project = Project.objects.get(pk=job.project_id)
    with reporter.outcome():
        if params.get("torchvision"):
            version = model_version_register_torchvision(
                project=project, arch=params["architecture"], name=params["name"], user=job.created_by,
            )
        else:
            upload = Path(settings.MEDIA_ROOT) / params["upload"]
            try:
                version = model_version_register(project=project, checkpoint_path=upload, name=params["name"], user=job.created_by)
            finally:
                upload.unlink(missing_ok=True)
        reporter.progress(done=1)
        reporter.succeed(result={"model_version": version.pk, "name": version.name}, message=f"registered {version}")
