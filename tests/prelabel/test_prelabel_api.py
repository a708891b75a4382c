"""Pre-labeling through the API (tasks run in-process): proposals, provenance, idempotence, assist, errors."""
from __future__ import annotations

import numpy as np
import pytest

from annotations import masks, services
from annotations.models import Annotation, Image, Job, ModelVersion
from workers.model_versions import model_version_register

from ..model_support import class_ids, proposal_iou, shapes_project

pytestmark = pytest.mark.django_db



@pytest.fixture
def shapes(owner):
    return shapes_project(owner=owner, n=6)


@pytest.fixture
def version(shapes, unet_checkpoint, owner):
    project, _ = shapes
    return model_version_register(project=project, checkpoint_path=unet_checkpoint, name="unet-1", user=owner)


def _start(api, project, **body):
    return api.post(f"/api/projects/{project.pk}/prelabel/", body, format="json")


def test_registering_maps_classes_by_name(version, shapes):
    project, _ = shapes
    ids = class_ids(project)
    assert version.class_mapping == [None, ids["circle"], ids["rectangle"], ids["triangle"]]
    assert version.architecture == "unet" and version.checkpoint.name.startswith(f"models/{project.pk}/unet-1-")


def test_prelabel_writes_accurate_proposals_with_provenance(owner_api, shapes, version, django_capture_on_commit_callbacks):
    project, truths = shapes
    with django_capture_on_commit_callbacks(execute=True):
        response = _start(owner_api, project, model_version=version.pk, images="all", score_threshold=0.5)
    assert response.status_code == 202
    job = Job.objects.get(pk=response.json()["id"])
    assert job.status == "succeeded", job.message
    assert (job.done, job.total) == (6, 6)
    ids = class_ids(project)
    for image_id, truth in truths.items():
        image = Image.objects.get(pk=image_id)
        assert image.uncertainty is not None
        for row in image.annotations.all():
            assert (row.source, row.model_version_id, row.is_proposal) == ("model", version.pk, True)
        for name, iou in proposal_iou(image, truth, ids).items():
            assert iou > 0.8, (image_id, name, iou)


def test_running_twice_replaces_only_untouched_proposals(owner, owner_api, shapes, version, django_capture_on_commit_callbacks):
    project, truths = shapes
    first = next(iter(truths))
    with django_capture_on_commit_callbacks(execute=True):
        _start(owner_api, project, model_version=version.pk, images="all")
    image = Image.objects.get(pk=first)
    doc = owner_api.get(f"/api/images/{first}/annotations/").json()
    accepted = {**doc["annotations"][0], "is_proposal": False}
    owner_api.put(f"/api/images/{first}/annotations/", {"version": doc["version"], "annotations": [accepted] + doc["annotations"][1:]}, format="json")
    before = Annotation.objects.count()
    with django_capture_on_commit_callbacks(execute=True):
        _start(owner_api, project, model_version=version.pk, images="all")
    assert Annotation.objects.count() == before
    assert Annotation.objects.filter(pk=accepted["id"], is_proposal=False).exists()
    # the accepted semantic class is not proposed again on that image
    assert image.annotations.filter(label_class_id=accepted["label_class"]).count() == 1


def test_unlabeled_skips_images_a_person_annotated(owner, owner_api, shapes, version, django_capture_on_commit_callbacks):
    project, truths = shapes
    first = next(iter(truths))
    circle = class_ids(project)["circle"]
    image = Image.objects.get(pk=first)
    services.annotation_document_save(image=image, user=owner, version=0, annotations=[
        {"label_class": circle, "mask": masks.encode(np.ones((48, 48), np.uint8))}])
    with django_capture_on_commit_callbacks(execute=True):
        job_id = _start(owner_api, project, model_version=version.pk, images="unlabeled").json()["id"]
    assert Job.objects.get(pk=job_id).total == 5
    assert not image.annotations.filter(source="model").exists()


def test_prelabel_refuses_a_model_of_another_project(owner, owner_api, shapes, unet_checkpoint):
    project, _ = shapes
    other, _ = shapes_project(owner=owner, n=1, seed=9)
    foreign = model_version_register(project=other, checkpoint_path=unet_checkpoint, name="theirs")
    response = _start(owner_api, project, model_version=foreign.pk)
    assert response.status_code == 404 and "not in project" in response.json()["message"]
    assert not Job.objects.filter(kind="prelabel").exists()


def test_registering_a_model_whose_classes_the_project_lacks_is_refused(owner, unet_checkpoint):
    from annotations.errors import ValidationFailed

    project = services.project_create(name="Cars only", owner=owner)
    services.label_class_create(project=project, name="car")
    with pytest.raises(ValidationFailed, match="not classes of project"):
        model_version_register(project=project, checkpoint_path=unet_checkpoint, name="x")
    assert not ModelVersion.objects.exists()


def test_registering_garbage_is_refused(owner, shapes, tmp_path):
    from annotations.errors import ValidationFailed

    project, _ = shapes
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a checkpoint")
    with pytest.raises(ValidationFailed, match="bad.pt"):
        model_version_register(project=project, checkpoint_path=bad, name="bad")
    assert not ModelVersion.objects.exists()


def test_upload_through_the_api_registers_a_version(owner_api, shapes, unet_checkpoint, django_capture_on_commit_callbacks):
    from django.core.files.uploadedfile import SimpleUploadedFile

    project, _ = shapes
    upload = SimpleUploadedFile("unet.pt", unet_checkpoint.read_bytes())
    with django_capture_on_commit_callbacks(execute=True):
        response = owner_api.post(f"/api/projects/{project.pk}/models/", {"name": "uploaded", "checkpoint": upload}, format="multipart")
    assert response.status_code == 202
    job = Job.objects.get(pk=response.json()["id"])
    assert job.status == "succeeded", job.message
    listed = owner_api.get(f"/api/projects/{project.pk}/models/").json()
    assert [v["name"] for v in listed] == ["uploaded"]


def test_torchvision_weights_missing_from_the_cache_say_which_file(owner, shapes, tmp_path, monkeypatch):
    from annotations.errors import ValidationFailed
    from workers.model_versions import model_version_register_torchvision

    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    project, _ = shapes
    with pytest.raises(ValidationFailed, match=r"missing file .*maskrcnn_resnet50_fpn_v2"):
        model_version_register_torchvision(project=project, arch="maskrcnn", name="coco")


def test_assist_returns_the_shape_in_the_box(owner_api, shapes, version):
    project, truths = shapes
    image_id, truth = next(iter(truths.items()))
    ys, xs = np.nonzero(truth)
    label = int(truth[ys[0], xs[0]])
    region = truth == label
    from skimage.measure import label as components

    parts = components(region)
    first = parts == parts[ys[0], xs[0]]
    yy, xx = np.nonzero(first)
    box = [int(xx.min()) - 2, int(yy.min()) - 2, int(xx.max() - xx.min()) + 5, int(yy.max() - yy.min()) + 5]
    response = owner_api.post(f"/api/images/{image_id}/assist/", {"box": box}, format="json")
    assert response.status_code == 200, response.json()
    body = response.json()
    got = masks.decode(body["mask"]).astype(bool)
    iou = (got & first).sum() / (got | first).sum()
    assert iou > 0.7 and body["latency_ms"] > 0 and body["model_version"] == version.pk


def test_assist_without_a_model_uses_grabcut_and_says_so_when_the_model_is_asked_for(owner_api, project):
    from ..assist_support import store, two_colour

    image = store(project, two_colour()[0])
    response = owner_api.post(f"/api/images/{image.pk}/assist/", {"box": [50, 25, 100, 100]}, format="json")
    assert response.status_code == 200 and response.json()["method"] == "grabcut"
    response = owner_api.post(f"/api/images/{image.pk}/assist/", {"box": [50, 25, 100, 100], "method": "model"}, format="json")
    assert response.status_code == 409 and "no model version" in response.json()["message"]


def test_clicks_refine_the_models_mask(owner_api, shapes, version):
    project, truths = shapes
    image_id, truth = next(iter(truths.items()))
    ys, xs = np.nonzero(truth)
    box = [int(xs.min()) - 2, int(ys.min()) - 2, int(xs.max() - xs.min()) + 5, int(ys.max() - ys.min()) + 5]
    plain = owner_api.post(f"/api/images/{image_id}/assist/", {"box": box}, format="json").json()
    before = masks.decode(plain["mask"]).astype(bool)
    # A positive click on a pixel the model left out (the box's corner, background) puts it in; the
    # model's mask stays the start of the answer.
    cx, cy = max(0, box[0]), max(0, box[1])
    clicked = owner_api.post(f"/api/images/{image_id}/assist/", {"box": box, "clicks": [
        {"x": cx, "y": cy, "positive": True}]}, format="json").json()
    assert plain["method"] == clicked["method"] == "model" and clicked["model_version"] == version.pk
    after = masks.decode(clicked["mask"]).astype(bool)
    assert not before[cy, cx] and after[cy, cx]
    assert (before & after).sum() / before.sum() > 0.8


def test_assist_with_an_empty_box_is_refused(owner_api, shapes, version):
    _, truths = shapes
    response = owner_api.post(f"/api/images/{next(iter(truths))}/assist/", {"box": [5, 5, 0, 10]}, format="json")
    assert response.status_code == 400 and "empty" in response.json()["message"]


@pytest.mark.parametrize("run_ahead", [False, True])
def test_a_job_cancelled_midway_stops_its_model_thread_and_keeps_what_it_wrote(shapes, version, monkeypatch, run_ahead):
    import threading

    from annotations.jobs import JobReporter, job_cancel
    from workers.ml.inference import Predictor
    from workers.prelabel_job import run_prelabel

    project, _ = shapes
    job = Job.objects.create(project=project, kind=Job.Kind.PRELABEL,
                             params={"model_version": version.pk, "images": "all", "batch_size": 1})
    report = JobReporter.progress

    def progress_then_cancel(self, *, done, **kwargs):
        report(self, done=done, **kwargs)
        if done == 2:  # someone presses Cancel while the third image is on its way
            job_cancel(job=Job.objects.get(pk=self.job_id))

    monkeypatch.setattr(JobReporter, "progress", progress_then_cancel)
    # Jobs run the model in its own thread (run_ahead); the inline stream must cancel as cleanly.
    predict = Predictor.predict
    monkeypatch.setattr(Predictor, "predict", lambda self, items, run_ahead=False, _ahead=run_ahead: predict(self, items, run_ahead=_ahead))
    run_prelabel(job.pk)
    job.refresh_from_db()
    assert (job.status, job.done, job.total) == ("cancelled", 2, 6)
    # The job sees the cancel at its next progress report, after writing the image in hand.
    first_three = list(project.images.order_by("pk").values_list("pk", flat=True)[:3])
    written = set(Annotation.objects.filter(model_version=version).values_list("image_id", flat=True))
    assert written == set(first_three)
    assert not any(thread.name == "predict" for thread in threading.enumerate())
