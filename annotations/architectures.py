"""The network architectures labeler knows, named once: the ModelVersion choices, the API, the
commands and the builders (workers/ml/builders.py) all read these. Plain constants, so the ML
runtime can import them without Django and the web process without torch."""
from __future__ import annotations

UNET, SEGNET, FCN, MASKRCNN = "unet", "segnet", "fcn", "maskrcnn"
ALL = (UNET, SEGNET, FCN, MASKRCNN)
SEMANTIC = frozenset({UNET, SEGNET, FCN})  # one label map per image
INSTANCE = frozenset({MASKRCNN})  # one mask per object
TORCHVISION = (MASKRCNN, FCN)  # torchvision publishes weights that can be registered as a version
