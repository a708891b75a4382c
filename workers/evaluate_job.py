"""The evaluate job (gpu queue): params {"model_version": id}. Idempotent: it only overwrites the
version's metrics (workers/evaluation.py computes them)."""
from __future__ import annotations

from annotations.jobs import JobReporter, job_body
from annotations.models import Job, ModelVersion

from .evaluation import evaluate_version


@job_body(Job.Kind.EVALUATE)
def run_evaluate(job: Job, reporter: JobReporter) -> None:
    version = ModelVersion.objects.select_related("project").get(pk=job.params["model_version"], project_id=job.project_id)
    metrics = evaluate_version(version, progress=lambda done, total: reporter.progress(done=done, total=total))
    headline = metrics.get("metric")
    reporter.succeed(
        result={"model_version": version.pk, "metrics": metrics},
        message=f"{version.name}: {metrics['metric_name']} "
                + (f"{headline:.3f}" if headline is not None else "n/a") + f" on {metrics['images']} image(s)",
    )
