"""What a trained version records for the models page: a train started from a preset gets the
preset's network, and its evaluation stores a confusion matrix (rows = truth, columns =
prediction, pixel counts) in which pixels the version cannot know are left out."""
from __future__ import annotations

import numpy as np
import pytest

from annotations.models import Image, Job, ModelVersion

from .support import approved_shapes

pytestmark = pytest.mark.django_db


@pytest.fixture
def trained(owner, owner_api, django_capture_on_commit_callbacks):
    project, truths = approved_shapes(owner=owner, n=8)
    with django_capture_on_commit_callbacks(execute=True):
        response = owner_api.post(f"/api/projects/{project.pk}/train/", {
            "preset": "unet-small", "epochs": 2, "lr": 1e-2, "batch_size": 8, "cpu_threads": 1, "name": "small-v1",
        }, format="json")
    assert response.status_code == 202, response.json()
    job = Job.objects.get(pk=response.json()["id"])
    assert job.status == "succeeded", job.message
    return ModelVersion.objects.get(pk=job.result["model_version"]), truths


def test_a_preset_trains_its_small_network_and_the_evaluation_keeps_a_confusion_matrix(trained):
    version, truths = trained
    assert version.architecture == "unet" and version.builder_kwargs == {"depth": 2, "base_width": 8}
    confusion = version.metrics["confusion"]
    assert confusion["classes"] == ["background", "circle", "rectangle", "triangle"]
    counts = np.array(confusion["counts"])
    assert counts.shape == (4, 4) and counts.dtype.kind == "i"
    val = version.metrics["image_ids"]
    truth = np.concatenate([truths[pk].ravel() for pk in val])
    # Rows are the truth: each row sums to that class's pixels on the held-out images.
    assert counts.sum(axis=1).tolist() == np.bincount(truth, minlength=4).tolist()
    assert [h["epoch"] for h in version.training["history"]] == [1, 2]


def test_pixels_the_version_cannot_know_stay_out_of_the_confusion_matrix(trained):
    from workers.evaluation import evaluate_version

    version, truths = trained
    version.class_mapping = [*version.class_mapping[:3], None]  # triangle: no output knows it any more
    version.save(update_fields=["class_mapping"])
    metrics = evaluate_version(version)
    counts = np.array(metrics["confusion"]["counts"])
    truth = np.concatenate([truths[pk].ravel() for pk in metrics["image_ids"]])
    assert counts.sum() == int((truth != 3).sum()) and counts[3].sum() == 0
    assert metrics["confusion"]["classes"][3] == "unmapped output 3"
