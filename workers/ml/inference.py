"""Batched inference: images in, per-image masks out, as a stream.

Decoding (and resizing / normalizing) runs ahead of the model in background threads with a
bounded window, so the device is not kept waiting on JPEG decoding and memory stays flat on
long jobs. Batches are sized to the device; forward passes run under `torch.inference_mode`,
with autocast (bf16, else fp16) and channels_last on CUDA; on the CPU a semantic net runs in the
numerics it was trained and validated in (`numerics`, the recipe's choice: bf16 + channels_last
where the CPU has native bf16), else fp32. The model can also run ahead of
the consumer in its own thread (`predict(run_ahead=True)`, what the jobs use), so the caller's
RLE and database work overlaps the next batch.

Semantic nets: argmax over classes -> one boolean mask per class present (at the original image
size, exactly) and the image's uncertainty, the mean pixel entropy normalized to 0..1.
Mask R-CNN: score and mask thresholds -> (class, score, mask) per instance, and an
uncertainty from how undecided the raw detection scores are.

`assist_box` turns a box drawn in the editor into a mask.
"""

from __future__ import annotations

import math
import os
import queue
import threading
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Callable, Generator, Iterable, Iterator, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from . import device as devices
from .checkpoints import IMAGENET_NORMALIZATION, ModelSpec
from .datasets import load_image, normalize, to_tensor_image
from .reductions import class_argmax, mean_entropy


@dataclass
class SemanticPrediction:
    key: Any
    size: tuple[int, int]  # (h, w) of the original image
    masks: dict[int, np.ndarray] = field(default_factory=dict)  # class index -> H x W bool
    uncertainty: float = 0.0  # mean pixel entropy / log(C), 0 = certain, 1 = uniform
    label_map: np.ndarray | None = None  # H x W uint8 argmax (0 = background)
    error: str | None = None  # the image could not be decoded; nothing else is set


@dataclass
class Instance:
    class_index: int
    score: float
    mask: np.ndarray  # H x W bool


@dataclass
class InstancePrediction:
    key: Any
    size: tuple[int, int]
    instances: list[Instance] = field(default_factory=list)
    uncertainty: float = 0.0  # mean binary entropy of the raw detection scores (0 if none)
    error: str | None = None


Prediction = SemanticPrediction | InstancePrediction


@dataclass
class _Decoded:
    key: Any
    size: tuple[int, int]
    tensor: torch.Tensor | None  # model-ready [3, h', w'] on CPU
    error: str | None = None


def _as_item(item) -> tuple[Any, Callable[[], np.ndarray]]:
    """(key, decode) from a path, (key, decode_fn) or (key, array)."""
    if isinstance(item, (str, os.PathLike)):
        return item, lambda: load_image(item)
    key, source = item
    if callable(source):
        return key, source
    return key, lambda: load_image(source)


class Predictor:
    """Runs one model version over streams of images. Reusable across calls."""

    def __init__(
        self,
        model: nn.Module,
        spec: ModelSpec,
        *,
        device: str | torch.device | None = None,
        batch_size: int | None = None,
        score_threshold: float = 0.5,
        mask_threshold: float = 0.5,
        decode_workers: int = 2,
        numerics: str | None = None,
    ):
        self.spec = spec
        self.device = devices.select_device(device)
        # CPU numerics (workers/ml/device.py) for semantic nets; Mask R-CNN runs fp32 on the CPU.
        self.numerics = None if spec.is_instance else devices.usable_numerics(numerics)
        self.memory_format = devices.memory_format(self.device, self.numerics)
        self.model = model.eval().to(self.device, memory_format=self.memory_format)
        if batch_size is None:
            if spec.is_instance:
                batch_size = devices.suggest_batch_size(
                    self.device, pixels_per_image=800 * 1333, bytes_per_pixel=2048, cpu_batch_size=2
                )
            else:
                batch_size = devices.suggest_batch_size(self.device, pixels_per_image=512 * 512)
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        self.batch_size = batch_size
        self.score_threshold = score_threshold
        self.mask_threshold = mask_threshold
        self.decode_workers = max(1, decode_workers)

    # --- preprocessing (runs in decode threads) ----------------------------------------

    def _prepare(self, array: np.ndarray) -> torch.Tensor:
        image = to_tensor_image(array)
        if self.spec.is_instance:
            return image  # Mask R-CNN normalizes and resizes inside its transform
        policy = self.spec.size_policy
        if policy["mode"] == "resize":
            image = F.interpolate(
                image[None], size=tuple(policy["size"]), mode="bilinear", antialias=True, align_corners=False
            )[0]
        return normalize(image, self.spec.normalization)

    def _decode(self, key, decode: Callable[[], np.ndarray]) -> _Decoded:
        try:
            array = decode()
            if array.ndim != 3 or array.shape[2] != 3:
                array = load_image(array)
            tensor = self._prepare(array)
            if self.device.type == "cuda" and self.spec.is_instance:
                # Pinned memory lets the copy to the GPU run asynchronously (semantic
                # batches are pinned once stacked).
                tensor = tensor.pin_memory()
            return _Decoded(key, tuple(array.shape[:2]), tensor)
        except Exception as exc:  # one bad image must not end the job
            return _Decoded(key, (0, 0), None, f"{type(exc).__name__}: {exc}")

    def _decoded_stream(self, items: Iterable) -> Iterator[_Decoded]:
        """Decode ahead of the model: at most `window` images in flight, in input order."""
        window = self.batch_size * 2 + self.decode_workers
        with ThreadPoolExecutor(self.decode_workers, thread_name_prefix="decode") as pool:
            pending: deque[Future] = deque()
            for item in items:
                key, decode = _as_item(item)
                pending.append(pool.submit(self._decode, key, decode))
                if len(pending) >= window:
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()

    # --- the stream ---------------------------------------------------------------------

    def predict(self, items: Iterable, *, run_ahead: bool = False) -> Iterator[Prediction]:
        """Yield one prediction per input, in input order, as soon as its batch is done.

        `items`: image paths, (key, decode_fn) or (key, H x W x 3 uint8 array).
        `run_ahead`: run the model in a background thread, up to two batches ahead of the
        consumer, so what the caller does with each prediction (RLE, database writes) overlaps
        the next forward pass instead of following it. The caller's thread never runs the
        model, so its database connection stays its own. On a GPU this is what keeps the device
        busy; on the 2-core CPU it measured +4-10% for the semantic nets' jobs, +-0 for Mask
        R-CNN (bench/prelabel.py, README).
        """
        stream = self._predict_stream(items)
        if run_ahead:
            return _in_background(stream, max_ahead=self.batch_size * 2, name="predict")
        return stream

    def _predict_stream(self, items: Iterable) -> Generator[Prediction, None, None]:
        batch: list[_Decoded] = []
        for decoded in self._decoded_stream(items):
            if decoded.error is not None:
                yield from self._run(batch)
                batch = []
                yield self._failed(decoded)
                continue
            batch.append(decoded)
            if len(batch) == self.batch_size:
                yield from self._run(batch)
                batch = []
        yield from self._run(batch)

    def predict_image(self, image: np.ndarray, key: Any = None) -> Prediction:
        (result,) = list(self.predict([(key, image)]))
        if result.error:
            raise ValueError(result.error)
        return result

    def _failed(self, decoded: _Decoded) -> Prediction:
        cls = InstancePrediction if self.spec.is_instance else SemanticPrediction
        return cls(key=decoded.key, size=decoded.size, error=decoded.error)

    def _run(self, batch: list[_Decoded]) -> list[Prediction]:
        if not batch:
            return []
        with torch.inference_mode(), devices.autocast(self.device, self.numerics):
            if self.spec.is_instance:
                return self._run_instance(batch)
            return self._run_semantic(batch)

    def _run_semantic(self, batch: list[_Decoded]) -> list[SemanticPrediction]:
        policy = self.spec.size_policy
        multiple = policy.get("multiple", 1) if policy["mode"] == "pad" else 1
        h = -(-max(d.tensor.shape[-2] for d in batch) // multiple) * multiple
        w = -(-max(d.tensor.shape[-1] for d in batch) // multiple) * multiple
        x = torch.stack(
            [
                F.pad(d.tensor[None], (0, w - d.tensor.shape[-1], 0, h - d.tensor.shape[-2]), mode="replicate")[0]
                for d in batch
            ]
        )
        if self.device.type == "cuda":
            x = x.pin_memory()
        x = x.to(self.device, non_blocking=True).contiguous(memory_format=self.memory_format)
        logits = self.model(x).float()
        if logits.shape[1] != self.spec.num_classes:
            raise ValueError(
                f"model outputs {logits.shape[1]} classes but the spec maps {self.spec.num_classes}"
            )
        results = []
        for i, d in enumerate(batch):
            th, tw = d.tensor.shape[-2:]
            item = logits[i : i + 1, :, :th, :tw]
            if (th, tw) != d.size:
                item = F.interpolate(item, size=d.size, mode="bilinear", align_corners=False)
            entropy = mean_entropy(item[0])
            label_map = class_argmax(item[0]).to(torch.uint8).cpu().numpy()
            results.append(
                SemanticPrediction(
                    key=d.key,
                    size=d.size,
                    masks={int(c): label_map == c for c in np.unique(label_map) if c != 0},
                    uncertainty=float(entropy / math.log(self.spec.num_classes)),
                    label_map=label_map,
                )
            )
        return results

    def _run_instance(self, batch: list[_Decoded]) -> list[InstancePrediction]:
        images = [d.tensor.to(self.device, non_blocking=True) for d in batch]
        outputs = self.model(images)
        results = []
        for d, out in zip(batch, outputs):
            scores = out["scores"].float()
            keep = scores >= self.score_threshold
            masks = (out["masks"][keep, 0] > self.mask_threshold).cpu().numpy()
            labels = out["labels"][keep].tolist()
            kept_scores = scores[keep].tolist()
            results.append(
                InstancePrediction(
                    key=d.key,
                    size=d.size,
                    instances=[
                        Instance(int(c), float(s), m)
                        for c, s, m in zip(labels, kept_scores, masks)
                        if m.any()
                    ],
                    uncertainty=_score_uncertainty(scores),
                )
            )
        return results


_END = object()


def _in_background(iterator: Generator, *, max_ahead: int, name: str) -> Iterator:
    """Drive `iterator` in a daemon thread, at most `max_ahead` items ahead of the consumer.

    Items and the producer's exception (re-raised here) come back in order. When the consumer
    stops early (closes the generator, e.g. a cancelled job), the producer stops after the item
    it is computing and the iterator is closed in its own thread.
    """
    handoff: queue.Queue = queue.Queue(maxsize=max(1, max_ahead))
    stop = threading.Event()

    def put(entry) -> bool:
        while not stop.is_set():
            try:
                handoff.put(entry, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in iterator:
                if not put((item, None)):
                    return
            put((_END, None))
        except BaseException as exc:  # handed to the consumer, which re-raises it
            put((_END, exc))
        finally:
            iterator.close()

    def consume() -> Iterator:
        thread = threading.Thread(target=produce, name=name, daemon=True)
        thread.start()
        try:
            while True:
                item, error = handoff.get()
                if item is _END:
                    if error is not None:
                        raise error
                    return
                yield item
        finally:
            stop.set()
            thread.join()

    return consume()


def _score_uncertainty(scores: torch.Tensor) -> float:
    """Mean binary entropy (bits) of every raw detection's score: detections near 0.5 are the
    ones a person has to decide on; an image of confident detections scores near 0."""
    if scores.numel() == 0:
        return 0.0
    p = scores.clamp(1e-6, 1 - 1e-6)
    return float((-(p * p.log2() + (1 - p) * (1 - p).log2())).mean().item())


def predict(model: nn.Module, spec: ModelSpec, items: Iterable, **kwargs) -> Iterator[Prediction]:
    """Shorthand for `Predictor(model, spec, **kwargs).predict(items)`."""
    return Predictor(model, spec, **kwargs).predict(items)


# --- box-to-mask assist ----------------------------------------------------------------


def _check_box(box: Sequence[float], h: int, w: int) -> tuple[float, float, float, float]:
    if len(box) != 4:
        raise ValueError(f"box must be (x1, y1, x2, y2), got {box!r}")
    x1, y1, x2, y2 = (float(v) for v in box)
    x1, x2 = max(0.0, min(x1, w)), max(0.0, min(x2, w))
    y1, y2 = max(0.0, min(y1, h)), max(0.0, min(y2, h))
    if x2 - x1 < 1 or y2 - y1 < 1:
        raise ValueError(f"box {tuple(box)} is empty inside the {w}x{h} image")
    return x1, y1, x2, y2


def assist_box(
    model: nn.Module,
    image: np.ndarray,
    box: Sequence[float],
    *,
    spec: ModelSpec | None = None,
    class_index: int | None = None,
    device: str | torch.device | None = None,
    mask_threshold: float = 0.5,
    context: float = 0.15,
    numerics: str | None = None,
) -> np.ndarray:
    """A bool H x W mask for the object in `box` (x1, y1, x2, y2 in pixels of `image`).

    Mask R-CNN: the box is the proposal; the box head picks the class (unless `class_index`
    is given) and the mask head draws that class's mask. Semantic nets: run on the crop plus
    `context` margin, keep the most present non-background class inside the box (or
    `class_index`). The model is expected on `device` already (as a Predictor leaves it).
    `numerics`: a semantic net's CPU numerics (its recipe's, as the Predictor takes them).
    """
    array = load_image(image)
    h, w = array.shape[:2]
    x1, y1, x2, y2 = _check_box(box, h, w)
    dev = devices.select_device(device)
    from torchvision.models.detection import MaskRCNN

    if isinstance(model, MaskRCNN):
        with torch.inference_mode(), devices.autocast(dev):
            return _assist_maskrcnn(model, array, (x1, y1, x2, y2), class_index, dev, mask_threshold)
    numerics = devices.usable_numerics(numerics)
    with torch.inference_mode(), devices.autocast(dev, numerics):
        return _assist_semantic(model, array, (x1, y1, x2, y2), spec, class_index, dev, context,
                                devices.memory_format(dev, numerics))


def _assist_maskrcnn(model, array, box, class_index, dev, mask_threshold) -> np.ndarray:
    from torchvision.models.detection.roi_heads import paste_masks_in_image

    h, w = array.shape[:2]
    model.eval()
    images, _ = model.transform([to_tensor_image(array).to(dev)])
    (th, tw) = images.image_sizes[0]
    sx, sy = tw / w, th / h
    x1, y1, x2, y2 = box
    proposal = torch.tensor([[x1 * sx, y1 * sy, x2 * sx, y2 * sy]], device=dev)
    features = model.backbone(images.tensors)
    heads = model.roi_heads
    box_features = heads.box_head(heads.box_roi_pool(features, [proposal], images.image_sizes))
    class_logits, _ = heads.box_predictor(box_features)
    if class_index is None:
        class_index = int(class_logits[0, 1:].argmax().item()) + 1
    elif not 1 <= class_index < class_logits.shape[1]:
        raise ValueError(f"class_index {class_index} not in 1..{class_logits.shape[1] - 1}")
    mask_features = heads.mask_head(heads.mask_roi_pool(features, [proposal], images.image_sizes))
    mask_logits = heads.mask_predictor(mask_features).float()
    probs = mask_logits[:, class_index : class_index + 1].sigmoid()
    pasted = paste_masks_in_image(probs, torch.tensor([box], device=dev, dtype=torch.float32), (h, w))
    return (pasted[0, 0] > mask_threshold).cpu().numpy()


def _assist_semantic(model, array, box, spec, class_index, dev, context, memory_format=torch.contiguous_format) -> np.ndarray:
    h, w = array.shape[:2]
    x1, y1, x2, y2 = box
    mx, my = (x2 - x1) * context, (y2 - y1) * context
    cx1, cy1 = int(max(0, math.floor(x1 - mx))), int(max(0, math.floor(y1 - my)))
    cx2, cy2 = int(min(w, math.ceil(x2 + mx))), int(min(h, math.ceil(y2 + my)))
    crop = np.ascontiguousarray(array[cy1:cy2, cx1:cx2])
    normalization = spec.normalization if spec else IMAGENET_NORMALIZATION
    multiple = spec.size_policy.get("multiple", 32) if spec else 32
    x = normalize(to_tensor_image(crop), normalization)[None]
    ch, cw = x.shape[-2:]
    x = F.pad(x, (0, (-cw) % multiple, 0, (-ch) % multiple), mode="replicate")
    model = model.eval().to(memory_format=memory_format)  # a no-op once the model is in it
    logits = model(x.to(dev).contiguous(memory_format=memory_format))[..., :ch, :cw].float()
    labels = class_argmax(logits[0]).cpu().numpy()
    # Only pixels inside the drawn box count; the margin only gives the net context.
    bx1, by1 = int(math.floor(x1)) - cx1, int(math.floor(y1)) - cy1
    bx2, by2 = int(math.ceil(x2)) - cx1, int(math.ceil(y2)) - cy1
    inside = labels[by1:by2, bx1:bx2]
    if class_index is None:
        counts = np.bincount(inside.ravel(), minlength=logits.shape[1])
        counts[0] = 0
        if counts.max() == 0:
            return np.zeros((h, w), dtype=bool)
        class_index = int(counts.argmax())
    out = np.zeros((h, w), dtype=bool)
    out[cy1 + by1 : cy1 + by2, cx1 + bx1 : cx1 + bx2] = inside == class_index
    return out
