"""The network architectures labeler knows, named once: the ModelVersion choices, the API, the
commands and the builders (workers/ml/builders.py) all read these. Plain constants, so the ML
runtime can import them without Django and the web process without torch."""
from __future__ import annotations

UNET, SEGNET, FCN, MASKRCNN = "unet", "segnet", "fcn", "maskrcnn"
ALL = (UNET, SEGNET, FCN, MASKRCNN)
SEMANTIC = frozenset({UNET, SEGNET, FCN})  # one label map per image
INSTANCE = frozenset({MASKRCNN})  # one mask per object
TORCHVISION = (MASKRCNN, FCN)  # torchvision publishes weights that can be registered as a version


# Every argument a builder (workers/ml/builders.py) accepts, with its bounds: a checkpoint's spec
# and a train request's builder_kwargs are untrusted, and a width of 192 allocates a gigabyte
# before any other check runs. `builder_kwargs_check` refuses anything else before a layer exists;
# the builders' own checks (combinations, such as min_size <= max_size) come after.
# (kind, low, high): "int" / "float" ranges, "ints" a short list of such ints, "choice" a tuple of
# allowed values, "str" a name of at most `high` characters.
_INT, _FLOAT, _INTS, _CHOICE, _STR = "int", "float", "ints", "choice", "str"
MAX_CLASSES = 1024  # outputs of one net: background + label classes
MAX_UNET_WIDTH = 2048  # base_width * 2**depth: U-Net's bottleneck channels (default 32 * 16 = 512)
_FRACTION = (_FLOAT, 0.0, 1.0)
_ANY_LOW = -(2**31)  # a lower bound the builder checks itself, with a message of its own
BUILDER_BOUNDS: dict[str, dict[str, tuple]] = {
    UNET: {"in_channels": (_INT, 1, 16), "depth": (_INT, _ANY_LOW, 6), "base_width": (_INT, _ANY_LOW, 128),
           "encoder": (_STR, 0, 32), "decoder_width": (_INT, _ANY_LOW, 1024)},
    SEGNET: {"in_channels": (_INT, 1, 16), "depth": (_INT, _ANY_LOW, 6), "base_width": (_INT, _ANY_LOW, 128),
             "encoder": (_STR, 0, 32)},
    FCN: {
        "backbone": (_CHOICE, ("resnet50", "resnet101", "resnet18")), "output_stride": (_INT, _ANY_LOW, 64),
        "weights": (_CHOICE, (None,)), "weights_backbone": (_STR, 0, 64),
    },
    MASKRCNN: {
        "backbone": (_CHOICE, ("resnet50_fpn_v2", "resnet18_fpn")), "weights": (_CHOICE, (None,)),
        "weights_backbone": (_STR, 0, 64), "min_size": (_INT, 16, 2048), "max_size": (_INT, 16, 4096),
        "trainable_backbone_layers": (_INT, _ANY_LOW, 5), "returned_layers": (_INTS, _ANY_LOW, 4),
        "fpn_channels": (_INT, _ANY_LOW, 512), "anchor_sizes": (_INTS, 1, 1024), "head_width": (_INT, _ANY_LOW, 1024),
        "mask_head_layers": (_INT, _ANY_LOW, 8),
        # torchvision MaskRCNN's own arguments that the builder passes on
        "rpn_pre_nms_top_n_train": (_INT, 1, 10_000), "rpn_pre_nms_top_n_test": (_INT, 1, 10_000),
        "rpn_post_nms_top_n_train": (_INT, 1, 5_000), "rpn_post_nms_top_n_test": (_INT, 1, 5_000),
        "rpn_batch_size_per_image": (_INT, 1, 2_048), "box_batch_size_per_image": (_INT, 1, 2_048),
        "box_detections_per_img": (_INT, 1, 1_000), "rpn_nms_thresh": _FRACTION, "rpn_fg_iou_thresh": _FRACTION,
        "rpn_bg_iou_thresh": _FRACTION, "rpn_positive_fraction": _FRACTION, "rpn_score_thresh": _FRACTION,
        "box_score_thresh": _FRACTION, "box_nms_thresh": _FRACTION, "box_fg_iou_thresh": _FRACTION,
        "box_bg_iou_thresh": _FRACTION, "box_positive_fraction": _FRACTION,
    },
}
_MAX_LIST = 5  # returned_layers: stages 1-4; anchor_sizes: one per FPN level (stages + 1)


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _range(low: int, high: int) -> str:
    return f"of at most {high}" if low == _ANY_LOW else f"from {low} to {high}"


def builder_kwargs_check(arch: str, kwargs: dict, *, num_classes: int | None = None) -> None:
    """Raise ValueError naming the argument, its value and its bounds for anything the builder of
    `arch` does not take or takes only in a smaller range."""
    if arch not in BUILDER_BOUNDS:
        raise ValueError(f"unknown architecture {arch!r}; expected one of {sorted(BUILDER_BOUNDS)}")
    if not isinstance(kwargs, dict):
        raise ValueError(f"builder arguments must be an object, got {type(kwargs).__name__}")
    if num_classes is not None and not (_is_int(num_classes) and 2 <= num_classes <= MAX_CLASSES):
        raise ValueError(f"num_classes must be an int from 2 to {MAX_CLASSES}, got {num_classes!r}")
    bounds = BUILDER_BOUNDS[arch]
    for name, value in kwargs.items():
        if name not in bounds:
            raise ValueError(f"{arch} takes no builder argument {name!r} (it takes {', '.join(sorted(bounds))})")
        kind, *limits = bounds[name]
        if kind == _CHOICE:
            ok = value in limits[0] and (value is None or type(value) in {type(c) for c in limits[0] if c is not None})
            expected = f"one of {list(limits[0])}"
        elif kind == _STR:
            ok = value is None or (isinstance(value, str) and len(value) <= limits[1])
            expected = f"a name of at most {limits[1]} characters"
        elif kind == _INTS:
            ok = value is None or (isinstance(value, (list, tuple)) and 0 < len(value) <= _MAX_LIST
                  and all(_is_int(v) and limits[0] <= v <= limits[1] for v in value))
            expected = f"a list of 1 to {_MAX_LIST} ints {_range(*limits)}"
        elif kind == _INT:
            ok = value is None or (_is_int(value) and limits[0] <= value <= limits[1])
            expected = f"an int {_range(*limits)}"
        else:
            ok = (_is_int(value) or isinstance(value, float)) and limits[0] <= value <= limits[1]  # NaN fails too
            expected = f"a number from {limits[0]} to {limits[1]}"
        if not ok:
            raise ValueError(f"{arch} builder argument {name} must be {expected}, got {value!r}")
    if arch == UNET:
        depth, width = kwargs.get("depth", 4), kwargs.get("base_width", 32)
        if depth >= 1 and width >= 1 and width * 2**depth > MAX_UNET_WIDTH:
            raise ValueError(f"unet base_width * 2**depth must be at most {MAX_UNET_WIDTH}, got {width} * 2**{depth} = {width * 2**depth}")
