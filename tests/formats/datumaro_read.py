"""Read a dataset folder with Datumaro and print what it found, as JSON (run by .venv-datumaro's Python).

Datumaro pins Pillow 12 and the project Pillow 13, so it lives in its own virtual environment
(requirements-datumaro.txt) and the tests call this script there:

    .venv-datumaro/bin/python tests/formats/datumaro_read.py DIR FORMAT

prints {"labels": [...], "items": [{"id", "subset", "has_image", "annotations": [{"type", "label",
"pixels", "mask", "iscrowd", "bbox"}]}]}, where "mask" is the mask's set pixels as a flat list of
row-major indices (small test images only).
"""
from __future__ import annotations

import json
import sys

import numpy as np
from datumaro.components.annotation import AnnotationType
from datumaro.components.dataset import Dataset


def main(path: str, fmt: str) -> None:
    dataset = Dataset.import_from(path, fmt)
    labels = [label.name for label in dataset.categories()[AnnotationType.label].items]
    items = []
    for item in dataset:
        anns = []
        for ann in item.annotations:
            entry = {"type": ann.type.name, "label": labels[ann.label] if ann.label is not None else None}
            if ann.type in (AnnotationType.mask, AnnotationType.polygon):
                if ann.type == AnnotationType.polygon:
                    h, w = item.media.size
                    bitmap = np.asarray(ann.as_mask(h, w) if hasattr(ann, "as_mask") else ann.image, dtype=bool)
                else:
                    bitmap = np.asarray(ann.image, dtype=bool)
                entry["pixels"] = int(bitmap.sum())
                entry["mask"] = np.flatnonzero(bitmap).tolist()
                entry["shape"] = list(bitmap.shape)
            if ann.type == AnnotationType.bbox:
                entry["bbox"] = [float(v) for v in ann.get_bbox()]
            entry["iscrowd"] = bool(ann.attributes.get("is_crowd", False))
            anns.append(entry)
        has_image = item.media is not None and getattr(item.media, "has_data", False)
        items.append({"id": item.id, "subset": item.subset, "has_image": bool(has_image), "annotations": anns})
    print(json.dumps({"labels": labels, "items": items}))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
