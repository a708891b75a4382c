"""Shared cast and fixtures: an owner, a teammate and an outsider; a project; image factories.

Tests run each task in-process (tests/task_runner.py) unless they use the real `worker` fixture
(tests/integration), which sends them through Redis to a real Celery worker.
"""
from __future__ import annotations

import io
from typing import Callable

import numpy as np
import pytest
from PIL import Image as PILImage
from rest_framework.test import APIClient

from annotations import ingest, services
from annotations.models import Image, LabelClass, Membership, Project

from .s3_support import s3_endpoint, s3_media  # noqa: F401  fixtures


@pytest.fixture(autouse=True)
def _isolated_media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.LABELER_TASK_RUNNER = "tests.task_runner.InProcessRunner"
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def png_bytes(width: int = 64, height: int = 48, *, seed: int = 0, mode: str = "RGB", fmt: str = "PNG", **save) -> bytes:
    rng = np.random.default_rng(seed)
    channels = {"RGB": 3, "L": 1, "RGBA": 4}[mode]
    array = rng.integers(0, 255, size=(height, width, channels), dtype=np.uint8)
    image = PILImage.fromarray(array[..., 0] if channels == 1 else array, mode=mode)
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **save)
    return buffer.getvalue()


@pytest.fixture
def owner(django_user_model):
    return django_user_model.objects.create_user(username="olivia", password="owner-pass-123")


@pytest.fixture
def teammate(django_user_model):
    return django_user_model.objects.create_user(username="tom", password="teammate-pass-123")


@pytest.fixture
def outsider(django_user_model):
    return django_user_model.objects.create_user(username="oscar", password="outsider-pass-123")


@pytest.fixture
def project(owner, teammate) -> Project:
    project = services.project_create(name="Streets", owner=owner)
    services.membership_set(project=project, user=teammate, role=Membership.Role.ANNOTATOR)
    return project


@pytest.fixture
def car(project) -> LabelClass:
    return services.label_class_create(project=project, name="car", kind="instance", color="#ff0000", hotkey="1")


@pytest.fixture
def road(project) -> LabelClass:
    return services.label_class_create(project=project, name="road", kind="semantic", color="#808080", hotkey="2")


@pytest.fixture
def make_image(project) -> Callable[..., Image]:
    counter = iter(range(10_000))

    def make(width: int = 64, height: int = 48, *, target: Project | None = None, name: str | None = None) -> Image:
        seed = next(counter)
        result = ingest.images_import(
            project=target or project, user=None, files=[(name or f"img{seed}.png", io.BytesIO(png_bytes(width, height, seed=seed)))],
            make_thumbnails=False,
        )
        return result.created[0]

    return make


@pytest.fixture
def image(make_image) -> Image:
    return make_image()


def client_for(user) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


@pytest.fixture
def owner_api(owner) -> APIClient:
    return client_for(owner)


@pytest.fixture
def teammate_api(teammate) -> APIClient:
    return client_for(teammate)


@pytest.fixture
def outsider_api(outsider) -> APIClient:
    return client_for(outsider)


@pytest.fixture(scope="session")
def unet_checkpoint(tmp_path_factory):
    """A tiny U-Net trained once per session on synthetic shapes (circle, rectangle, triangle)."""
    from .model_support import train_tiny_unet

    return train_tiny_unet(tmp_path_factory.mktemp("unet") / "unet.pt")


@pytest.fixture
def torch_hub(tmp_path, monkeypatch):
    """An empty torch hub cache for the test: published weights are only what the test writes there.
    Through TORCH_HOME, as users set it: torch.hub.set_dir would outlive the test and override it."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    return tmp_path / "torch" / "hub"
