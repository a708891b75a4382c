"""The train job on the real job path (tasks run in-process): a tiny U-Net learns the approved shapes, is
registered with its split and recipe, evaluated, usable for pre-labeling at once; cancel; Mask R-CNN."""
from __future__ import annotations

import pytest
from django.core.management import call_command

from annotations import services
from annotations.models import Image, Job, ModelVersion
from workers.train_job import workdir_for

from ..model_support import class_ids
from .support import TINY_MASKRCNN_PARAMS, TINY_UNET_PARAMS, approved_shapes

pytestmark = pytest.mark.django_db


def _train(api, project, **params):
    return api.post(f"/api/projects/{project.pk}/train/", {**TINY_UNET_PARAMS, "cpu_threads": 1, **params}, format="json")


@pytest.fixture
def shapes(owner):
    return approved_shapes(owner=owner, n=24)


def test_a_tiny_unet_learns_the_approved_shapes_and_is_registered_evaluated(owner_api, shapes, django_capture_on_commit_callbacks):
    project, _ = shapes
    messages = []
    from annotations import jobs

    original = jobs.JobReporter.progress

    def spy(self, *, done, total=None, message=None):
        if message:
            messages.append(message)
        return original(self, done=done, total=total, message=message)

    jobs.JobReporter.progress = spy
    try:
        with django_capture_on_commit_callbacks(execute=True):
            response = _train(owner_api, project, epochs=20, val_fraction=0.25, name="unet-v1")
    finally:
        jobs.JobReporter.progress = original
    assert response.status_code == 202, response.json()
    job = Job.objects.get(pk=response.json()["id"])
    assert job.status == "succeeded", job.message
    version = ModelVersion.objects.get(pk=job.result["model_version"])
    ids = class_ids(project)
    assert (version.name, version.source, version.architecture) == ("unet-v1", "trained", "unet")
    assert version.class_mapping == [None, ids["circle"], ids["rectangle"], ids["triangle"]]
    split = version.training["split"]
    assert sorted(split["train"] + split["val"]) == sorted(Image.objects.filter(project=project).values_list("pk", flat=True))
    assert not set(split["train"]) & set(split["val"]) and split["val"]
    assert version.training["images"] == {"train": len(split["train"]), "val": len(split["val"])}
    assert version.training["recipe"]["epochs"] == 20 and version.training["epochs_completed"] == 20
    # Measured on the validation images only, through the pre-label predictor.
    metrics = version.metrics
    assert metrics["on"] == "validation split" and metrics["image_ids"] == split["val"]
    assert metrics["miou"] > 0.75 and metrics["pixel_accuracy"] > 0.95, metrics
    assert set(metrics["per_class_iou"]) == {"background", "circle", "rectangle", "triangle"}
    assert job.result["metrics"]["miou"] == metrics["miou"]
    assert any("epoch" in m and "step" in m and "loss" in m and "val mIoU" in m for m in messages), messages
    assert not workdir_for(job.pk).exists()  # the checkpoint moved under models/


def test_evaluating_again_through_the_api_gives_the_same_figures(owner_api, teammate, teammate_api, shapes, django_capture_on_commit_callbacks):
    project, _ = shapes
    services.membership_set(project=project, user=teammate, role="annotator")
    with django_capture_on_commit_callbacks(execute=True):
        job_id = _train(owner_api, project, epochs=3).json()["id"]
    version = ModelVersion.objects.get(pk=Job.objects.get(pk=job_id).result["model_version"])
    first = version.metrics
    ModelVersion.objects.filter(pk=version.pk).update(metrics={})
    with django_capture_on_commit_callbacks(execute=True):
        response = teammate_api.post(f"/api/projects/{project.pk}/models/{version.pk}/evaluate/")
    assert response.status_code == 202
    job = Job.objects.get(pk=response.json()["id"])
    assert job.status == "succeeded", job.message
    version.refresh_from_db()
    assert version.metrics["miou"] == first["miou"] and version.metrics["per_class_iou"] == first["per_class_iou"]
    call_command("evaluate_model", str(project.pk), version.name)
    assert Job.objects.filter(kind="evaluate", status="succeeded").count() == 2


def test_the_trained_version_pre_labels_at_once(owner, owner_api, django_capture_on_commit_callbacks):
    project, truths = approved_shapes(owner=owner, n=24, approve=20)
    with django_capture_on_commit_callbacks(execute=True):
        job_id = _train(owner_api, project, epochs=20).json()["id"]
    version_id = Job.objects.get(pk=job_id).result["model_version"]
    with django_capture_on_commit_callbacks(execute=True):
        response = owner_api.post(f"/api/projects/{project.pk}/prelabel/", {"model_version": version_id, "images": "unlabeled"}, format="json")
    job = Job.objects.get(pk=response.json()["id"])
    assert job.status == "succeeded" and job.total == 4, job.message
    unlabeled = Image.objects.filter(project=project, status="new")
    assert all(image.uncertainty is not None and image.annotations.filter(is_proposal=True).exists() for image in unlabeled)


def test_fine_tuning_from_a_version_keeps_its_classes_and_names_the_parent(owner, shapes, django_capture_on_commit_callbacks):
    project, _ = shapes
    call_command("train_model", str(project.pk), "--arch", "unet", "--epochs", "2", "--name", "base")
    base = ModelVersion.objects.get(name="base")
    call_command("train_model", str(project.pk), "--from", "base", "--epochs", "1", "--name", "tuned")
    tuned = ModelVersion.objects.get(name="tuned")
    assert tuned.parent_id == base.pk and tuned.training["parent"] == base.pk
    assert tuned.class_mapping == base.class_mapping and tuned.builder_kwargs == base.builder_kwargs


def test_cancelling_stops_training_and_registers_nothing(owner_api, shapes, django_capture_on_commit_callbacks, monkeypatch):
    from workers import train_job

    project, _ = shapes
    original = train_job._JobWatch.progress

    def cancel_after_first_epoch(self, epoch, step, loss, val_metric):
        original(self, epoch, step, loss, val_metric)
        if val_metric is not None:
            Job.objects.filter(pk=self.reporter.job_id).update(status=Job.Status.CANCELLED)
            self.last_poll = 0.0

    monkeypatch.setattr(train_job._JobWatch, "progress", cancel_after_first_epoch)
    with django_capture_on_commit_callbacks(execute=True):
        job_id = _train(owner_api, project, epochs=50).json()["id"]
    job = Job.objects.get(pk=job_id)
    assert job.status == "cancelled" and job.done <= 2
    assert not ModelVersion.objects.exists()
    assert not workdir_for(job_id).exists()


def test_a_tiny_mask_rcnn_trains_on_instances_and_reports_coco_ap(owner, owner_api, django_capture_on_commit_callbacks):
    project, _ = approved_shapes(owner=owner, n=10, kind="instance")
    with django_capture_on_commit_callbacks(execute=True):
        response = owner_api.post(f"/api/projects/{project.pk}/train/", {**TINY_MASKRCNN_PARAMS, "epochs": 1, "cpu_threads": 1}, format="json")
    job = Job.objects.get(pk=response.json()["id"])
    assert job.status == "succeeded", job.message
    version = ModelVersion.objects.get(pk=job.result["model_version"])
    assert version.architecture == "maskrcnn" and version.builder_kwargs["min_size"] == 64
    assert version.metrics["task"] == "instance" and {"ap", "ap50", "ap75"} <= set(version.metrics)
    assert version.metrics["metric_name"] == "AP"


def test_training_starts_from_published_weights_and_records_them(owner, torch_hub):
    import torch
    import torchvision

    from workers.ml.pretrained import expected_path, source_for

    project, _ = approved_shapes(owner=owner, n=6)
    kwargs = {"backbone": "resnet18", "output_stride": 8}
    with torch.random.fork_rng():
        torch.manual_seed(7)
        published = torchvision.models.resnet18(weights=None).state_dict()
    path = expected_path(source_for("fcn", kwargs))
    path.parent.mkdir(parents=True)
    torch.save(published, path)
    call_command("train_model", str(project.pk), "--arch", "fcn", "--epochs", "1", "--name", "fcn-imagenet",
                 "--pretrained", "--builder-kwargs", '{"backbone": "resnet18", "output_stride": 8}')
    version = ModelVersion.objects.get(name="fcn-imagenet")
    start = version.training["start_weights"]
    assert start["weights"] == "ResNet18_Weights.IMAGENET1K_V1" and start["file"] == str(path) and start["loaded"] > 50
    assert version.builder_kwargs == kwargs and len(version.class_mapping) == 4  # background + the 3 shapes


def test_without_the_published_file_the_job_fails_naming_it(owner, torch_hub):
    from django.core.management import CommandError

    project, _ = approved_shapes(owner=owner, n=4)
    with pytest.raises(CommandError, match=r"missing file .*resnet34-.*\.pth.*nothing is downloaded"):
        call_command("train_model", str(project.pk), "--arch", "unet", "--epochs", "1", "--pretrained",
                     "--builder-kwargs", '{"encoder": "resnet34"}')
    assert not ModelVersion.objects.exists()


def test_a_torchvision_version_can_be_fine_tuned_on_the_project_classes(owner, shapes):
    from annotations.training import train_check

    project, _ = shapes
    published = ModelVersion.objects.create(
        project=project, name="coco", architecture="maskrcnn", source=ModelVersion.Source.TORCHVISION,
        class_mapping=[None] + [None] * 90, builder_kwargs={"backbone": "resnet50_fpn_v2"},
    )
    services.label_class_create(project=project, name="car", kind="instance")
    checked = train_check(project=project, params={"from_version": published.pk, "epochs": 1})
    assert checked.params["pretrained"] is True and checked.params["arch"] == "maskrcnn"
    assert checked.class_ids == [c.pk for c in project.label_classes.filter(kind="instance")]


def test_training_can_use_the_split_the_images_came_with(owner):
    project, _ = approved_shapes(owner=owner, n=6)
    images = list(project.images.order_by("pk"))
    for image, split in zip(images, ["train", "train", "val", "test", "", "val"]):
        Image.objects.filter(pk=image.pk).update(split=split)
    call_command("train_model", str(project.pk), "--arch", "unet", "--epochs", "1", "--name", "stored",
                 "--split", "stored", "--builder-kwargs", '{"depth": 2, "base_width": 8}')
    split = ModelVersion.objects.get(name="stored").training["split"]
    assert split["method"] == "stored"
    assert split["val"] == [images[2].pk, images[5].pk]
    assert split["train"] == [images[0].pk, images[1].pk, images[4].pk]  # "test" is in neither


def test_a_stored_split_without_validation_images_is_refused_before_a_job_exists(owner):
    from django.core.management import CommandError

    project, _ = approved_shapes(owner=owner, n=3)
    with pytest.raises(CommandError, match='no approved image .* is in the stored split "val"'):
        call_command("train_model", str(project.pk), "--arch", "unet", "--epochs", "1", "--split", "stored")
    assert not Job.objects.exists()


def test_a_job_with_a_time_budget_plans_its_recipe_and_records_the_plan(owner):
    project, _ = approved_shapes(owner=owner, n=6)
    call_command("train_model", str(project.pk), "--arch", "unet", "--minutes", "0.2", "--name", "planned",
                 "--builder-kwargs", '{"depth": 2, "base_width": 8}')
    training = ModelVersion.objects.get(name="planned").training
    plan = training["recipe"]["plan"]
    assert plan["crop_size"] == training["recipe"]["crop_size"] and plan["probe_step_s"] > 0
    from workers.ml.device import cpu_numerics_candidates
    from workers.ml.recipe import STRONG_AUGMENTATION_STEPS

    assert training["recipe"]["augmentation"] == ("budget" if plan["steps"] >= STRONG_AUGMENTATION_STEPS else "light")
    assert training["peak_rss_mb"] > 0
    # The numerics the probe found fastest on this CPU are the ones trained in, recorded on the version.
    assert training["recipe"]["numerics"] == plan["numerics"] in cpu_numerics_candidates()
    assert plan["numerics_probe"][plan["numerics"]] == min(plan["numerics_probe"].values())
    # No weight average unless the recipe asks for one (workers/ml/recipe.py's EMA_WINDOW_SHARE).
    assert training["recipe"]["ema_decay"] is None
