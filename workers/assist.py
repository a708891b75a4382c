"""Box-to-mask assist: the mask of the object inside a box, from a warm model on the gpu worker;
clicks then refine the model's mask through GrabCut seeded with it (workers/grabcut.py)."""
from __future__ import annotations

import time

import numpy as np

from annotations import masks, media
from annotations.errors import NotFound, ValidationFailed
from annotations.models import Image, ModelVersion

from .free_assist import clicks_from
from .grabcut import NoForeground, grabcut
from .model_versions import load_model_version, version_numerics


def assist_mask(
    *, image_id: int, box_xywh: list[float], label_class_id: int | None, model_version_id: int, clicks: list[dict] | None = None,
) -> dict:
    from PIL import Image as PILImage

    from .ml.inference import assist_box

    started = time.perf_counter()
    image = Image.objects.filter(pk=image_id).first()
    version = ModelVersion.objects.filter(pk=model_version_id).first()
    if image is None or version is None or version.project_id != image.project_id:
        raise NotFound("image or model version not found in this project")
    x, y, w, h = (float(v) for v in box_xywh)
    if w < 1 or h < 1:
        raise ValidationFailed(f"the box {box_xywh} is empty")
    model, spec = load_model_version(version)
    class_index = None
    if label_class_id is not None and label_class_id in version.class_mapping:
        class_index = version.class_mapping.index(label_class_id)
    with media.open_read(image.file.name) as source, PILImage.open(source) as pil:
        array = np.array(pil.convert("RGB"))  # writable: torch.from_numpy warns on read-only arrays
    try:
        bitmap = assist_box(model, array, (x, y, x + w, y + h), spec=spec, class_index=class_index,
                            device=next(model.parameters()).device, numerics=version_numerics(version))
    except ValueError as exc:
        raise ValidationFailed(str(exc)) from None
    if clicks:
        bitmap = grabcut(array, box=(x, y, w, h), clicks=clicks_from(clicks), init=bitmap)
    elif not bitmap.any():
        raise NoForeground("no foreground found: the model sees no object in the box")
    rle = masks.encode(bitmap.astype(np.uint8))
    return {"mask": rle, "area": masks.area(rle), "method": "model", "model_version": version.pk,
            "ms": round((time.perf_counter() - started) * 1000, 1)}
