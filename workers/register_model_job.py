"""The register-model job (gpu queue, where torch lives): an uploaded checkpoint, or torchvision's
published weights from the local torch cache, becomes a ModelVersion of the project."""
from __future__ import annotations

from annotations.jobs import JobReporter, job_body
from annotations.models import Job

from .model_versions import model_version_register, model_version_register_torchvision
from .temp_files import upload_used


@job_body(Job.Kind.REGISTER_MODEL, total=1)
def run_register_model(job: Job, reporter: JobReporter) -> None:
    params = job.params
    if params.get("torchvision"):
        version = model_version_register_torchvision(
            project=job.project, arch=params["architecture"], name=params["name"], user=job.created_by,
            weights=params.get("weights", "DEFAULT"),
        )
    else:
        with upload_used(job) as upload:
            version = model_version_register(project=job.project, checkpoint_path=upload, name=params["name"],
                                             user=job.created_by, file_name=params.get("file_name"))
    reporter.progress(done=1)
    reporter.succeed(result={"model_version": version.pk, "name": version.name}, message=f"registered {version}")
