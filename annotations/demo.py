"""The demo project that `make up` creates: a few real photographs that scikit-image ships."""
from __future__ import annotations

import io

from django.contrib.auth import get_user_model
from django.db import transaction

from . import ingest, services
from .models import LabelClass, Project

DEMO_NAME = "Demo: scikit-image photographs"
DEMO_PHOTOS = ["astronaut", "chelsea", "coffee", "rocket", "camera"]
DEMO_CLASSES = [
    ("person", LabelClass.Kind.INSTANCE, "#e6194b"),
    ("cat", LabelClass.Kind.INSTANCE, "#f58231"),
    ("cup", LabelClass.Kind.INSTANCE, "#3cb44b"),
    ("vehicle", LabelClass.Kind.INSTANCE, "#4363d8"),
    ("sky", LabelClass.Kind.SEMANTIC, "#42d4f4"),
    ("ground", LabelClass.Kind.SEMANTIC, "#9a6324"),
]


def _photo_png(name: str) -> bytes:
    from PIL import Image as PILImage
    from skimage import data

    array = getattr(data, name)()
    buffer = io.BytesIO()
    PILImage.fromarray(array).save(buffer, format="PNG")
    return buffer.getvalue()


def demo_project_ensure(*, owner_username: str) -> Project:
    """Create the demo project once (idempotent); later calls return it unchanged."""
    owner = get_user_model().objects.get(username=owner_username)
    existing = Project.objects.filter(name=DEMO_NAME).first()
    if existing is not None:
        return existing
    with transaction.atomic():
        project = services.project_create(name=DEMO_NAME, owner=owner, description="Five photographs bundled with scikit-image.")
        for order, (name, kind, color) in enumerate(DEMO_CLASSES):
            services.label_class_create(project=project, name=name, kind=kind, color=color, hotkey=str(order + 1), order=order)
        files = []
        for name in DEMO_PHOTOS:
            try:
                files.append((f"{name}.png", io.BytesIO(_photo_png(name))))
            except Exception:  # a photo that needs a download in this skimage version is left out
                continue
        ingest.images_import(project=project, user=owner, files=files)
    return project
