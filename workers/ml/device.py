"""Device selection and the numeric choices that follow from it (autocast dtype, memory
format, batch size); the one place that asks `torch.cuda.is_available()`."""

from __future__ import annotations

import contextlib
from typing import Iterator

import torch


def select_device(preferred: str | torch.device | None = None) -> torch.device:
    """The device to run on: `preferred` if given, else CUDA when available, else CPU."""
    if preferred is not None:
        device = torch.device(preferred)
        if device.type == "cuda" and not torch.cuda.is_available():
            raise ValueError(f"device {device} was asked for but CUDA is not available")
        return device
    return torch.device("cuda") if torch.cuda.is_available() else torch.device("cpu")


def autocast_dtype(device: torch.device) -> torch.dtype | None:
    """bf16 where the GPU supports it, else fp16; None (full fp32) on CPU.

    CPU autocast is left off: on the CPUs we run on it is slower than fp32 and
    changes results between the tested path and production.
    """
    if device.type != "cuda":
        return None
    return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16


def autocast(device: torch.device) -> contextlib.AbstractContextManager:
    """An autocast context for `device` (a no-op on CPU)."""
    dtype = autocast_dtype(device)
    if dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype=dtype)


def needs_grad_scaler(device: torch.device) -> bool:
    """fp16 needs loss scaling to keep small gradients; bf16 and fp32 do not."""
    return autocast_dtype(device) == torch.float16


def memory_format(device: torch.device) -> torch.memory_format:
    """channels_last on CUDA (tensor cores prefer NHWC convolutions), contiguous elsewhere."""
    return torch.channels_last if device.type == "cuda" else torch.contiguous_format


def suggest_batch_size(
    device: torch.device,
    *,
    pixels_per_image: int,
    bytes_per_pixel: int = 4096,
    cpu_batch_size: int = 4,
    max_batch_size: int = 64,
) -> int:
    """A batch size that fits the device.

    On CUDA: half of the free memory divided by a rough per-pixel activation cost
    (`bytes_per_pixel`, which callers raise for heavier nets). On CPU a small batch:
    bigger ones do not raise throughput on few cores and delay the first result.
    """
    if device.type != "cuda":
        return cpu_batch_size
    free, _total = torch.cuda.mem_get_info(device)
    fit = int(free * 0.5 // max(1, pixels_per_image * bytes_per_pixel))
    return max(1, min(max_batch_size, fit))


@contextlib.contextmanager
def cpu_threads(n: int | None) -> Iterator[None]:
    """Temporarily set torch's intra-op thread count (benchmarks and tests on small machines)."""
    if n is None:
        yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)
