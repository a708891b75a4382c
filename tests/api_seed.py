"""A small project with one of everything the API shows, so generated requests reach real rows:
label classes, an image with a saved annotation document, a finished export with a zip to
download, a queued job to cancel, a model version, and a teammate to remove; and, for each
operation that generated data seldom gets right (uploads, ids that must exist), one valid request.

The assist operation gets an image from a second project that has no model version: with one,
assist runs the network in this process (seconds per request); without, it validates the box
and answers 409.
"""
from __future__ import annotations

from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from tests.conftest import png_bytes

from annotations import exports, masks, services
from annotations.models import Image, Job, LabelClass, ModelVersion, Project


@dataclass
class SeededProject:
    owner: Any
    project: Project
    image: Image
    path_parameters: dict[str, Any] = field(default_factory=dict)
    # Per operation path, where one differs from `path_parameters` (see the module docstring).
    overrides: dict[str, dict[str, Any]] = field(default_factory=dict)
    # (METHOD, path) -> the keyword arguments of schemathesis' `operation.Case` for a request that succeeds.
    valid_requests: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)


def _square_rle(image: Image) -> dict:
    bitmap = np.zeros((image.height, image.width), dtype=np.uint8)
    bitmap[4:20, 6:30] = 1
    return masks.encode(bitmap)


def seed_project(
    *, project: Project, owner, owner_password: str, teammate, outsider, classes: list[LabelClass],
    make_image: Callable[..., Image], run_jobs: Callable[..., AbstractContextManager],
) -> SeededProject:
    image = make_image()
    services.image_status_set(image=make_image(), status=Image.Status.DONE)
    services.annotation_document_save(image=image, user=owner, version=image.annotation_version, annotations=[
        {"label_class": classes[0].pk, "mask": _square_rle(image)},
    ])
    with run_jobs(execute=True):  # the export task runs in this process once its job row commits
        export = exports.export_start(project=project, user=owner, options=exports.export_options(format="coco"))
    export.refresh_from_db()
    assert export.status == Job.Status.SUCCEEDED and export.result_file, export.message
    with export.result_file.open("rb") as zipped:
        export_zip = zipped.read()
    queued = Job.objects.create(project=project, kind=Job.Kind.EXPORT, total=3, status=Job.Status.QUEUED, created_by=owner)
    version = ModelVersion.objects.create(
        project=project, name="unet-seed", architecture=ModelVersion.Architecture.UNET,
        class_mapping=[None, classes[0].pk], metrics={"miou": 0.5}, created_by=owner,
    )
    modelless = services.project_create(name="No models", owner=owner)
    assist_image = make_image(target=modelless)
    services.image_status_set(image=image, status=Image.Status.DONE)  # after the export: two approved images to train on
    image.refresh_from_db()
    spare = services.label_class_create(project=project, name="spare", kind="instance", color="#00ff00")  # edited / deleted by generated requests
    # An image of its own for the history operations: a restore bumps its version, which would
    # make the other image's valid document PUT stale.
    history_image = make_image()
    services.annotation_document_save(image=history_image, user=owner, version=0, annotations=[
        {"label_class": classes[0].pk, "mask": _square_rle(history_image)},
    ])
    revision = history_image.revisions.get()
    history = {"image_id": history_image.pk, "revision_id": revision.pk}
    json = "application/json"
    multipart = "multipart/form-data"
    valid_requests = {
        ("POST", "/api/auth/token/"): {"body": {"username": owner.get_username(), "password": owner_password}, "media_type": json},
        ("PUT", "/api/images/{image_id}/annotations/"): {"media_type": json, "body": {
            "version": image.annotation_version, "annotations": [{"label_class": classes[1].pk, "mask": _square_rle(image)}],
        }},
        ("POST", "/api/projects/{project_id}/images/"): {"media_type": multipart, "body": {"files": [png_bytes(40, 30, seed=99)]}},
        ("POST", "/api/projects/{project_id}/imports/"): {"media_type": multipart, "body": {"archive": export_zip, "format": "coco"}},
        ("POST", "/api/projects/{project_id}/members/"): {"media_type": json, "body": {"username": outsider.get_username(), "role": "reviewer"}},
        ("POST", "/api/projects/{project_id}/models/"): {"media_type": multipart, "body": {"name": "tv-fcn", "torchvision": True, "architecture": "fcn"}},
        ("POST", "/api/projects/{project_id}/prelabel/"): {"media_type": json, "body": {"model_version": version.pk, "images": "all"}},
        ("POST", "/api/projects/{project_id}/train/"): {"media_type": json, "body": {"arch": "unet", "epochs": 1}},
        ("GET", "/api/projects/{project_id}/images/"): {"query": {"status": "new,done", "ordering": "uncertainty", "page": 1, "page_size": 1}},
        ("GET", "/api/projects/{project_id}/next-image/"): {"query": {"after": image.pk}},
        ("POST", "/api/projects/{project_id}/ground-truth/"): {"media_type": json, "body": {"percent": 20, "seed": 1}},
        ("POST", "/api/images/{image_id}/revisions/{revision_id}/restore/"): {"media_type": json, "body": {"version": 1}},
    }
    return SeededProject(
        owner=owner, project=project, image=image, valid_requests=valid_requests,
        path_parameters={"project_id": project.pk, "image_id": image.pk, "job_id": export.pk,
                         "version_id": version.pk, "username": teammate.get_username(), "class_id": spare.pk,
                         "revision_id": revision.pk},
        overrides={"/api/images/{image_id}/assist/": {"image_id": assist_image.pk},
                   "/api/jobs/{job_id}/cancel/": {"job_id": queued.pk},
                   "/api/images/{image_id}/revisions/": history,
                   "/api/images/{image_id}/revisions/{revision_id}/": history,
                   "/api/images/{image_id}/revisions/{revision_id}/restore/": history},
    )
