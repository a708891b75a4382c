"""Device selection and the numeric choices that follow from it (autocast dtype, memory
format, batch size); the one place that asks `torch.cuda.is_available()`.

Numerics: on CUDA, autocast (bf16, else fp16) and channels_last, always. On the CPU, fp32 in
the default memory format unless a caller asks for one of `NUMERICS` by name: the budget recipe
measures them and trains with the fastest (workers/ml/recipe.py). On a CPU with native bf16
(AVX512-BF16 or AMX: recent Xeons and EPYCs) a U-Net step in bf16 + channels_last took 0.49 s
against 1.6-2.0 s in fp32 (AMD EPYC, 2 cores, 4 x 256^2); elsewhere bf16 runs emulated and slower.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Iterator

import torch


@dataclass(frozen=True)
class Numerics:
    """How a model runs on the CPU: the autocast dtype (None: fp32) and the memory format."""

    name: str
    autocast_dtype: torch.dtype | None
    channels_last: bool


NUMERICS = {
    "fp32": Numerics("fp32", None, False),
    "fp32-cl": Numerics("fp32-cl", None, True),
    "bf16-cl": Numerics("bf16-cl", torch.bfloat16, True),
}


def cpu_has_native_bf16() -> bool:
    """Whether this CPU computes bf16 in hardware (oneDNN's own check: AVX512-BF16 or AMX)."""
    try:
        return bool(torch.backends.mkldnn.is_available() and torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):  # a build without oneDNN, or without the check
        return False


def cpu_numerics_candidates() -> list[str]:
    """The CPU numerics worth measuring here: bf16 only where the hardware has it."""
    return ["fp32", "fp32-cl"] + (["bf16-cl"] if cpu_has_native_bf16() else [])


def numerics(device: torch.device, name: str | None = None) -> Numerics | None:
    """The CPU numerics called `name` (None: fp32); None on CUDA, which has its own.
    Raises ValueError for an unknown name or bf16 on a CPU without it."""
    if device.type == "cuda":
        return None
    if name is None:
        return NUMERICS["fp32"]
    if name not in NUMERICS:
        raise ValueError(f"numerics must be one of {', '.join(NUMERICS)}, got {name!r}")
    if NUMERICS[name].autocast_dtype is not None and not cpu_has_native_bf16():
        raise ValueError(f"numerics {name!r} needs a CPU with native bf16 (AVX512-BF16 or AMX); this one has none")
    return NUMERICS[name]


def select_device(preferred: str | torch.device | None = None) -> torch.device:
    """The device to run on: `preferred` if given, else CUDA when available, else CPU."""
    if preferred is not None:
        device = torch.device(preferred)
        if device.type == "cuda" and not torch.cuda.is_available():
            raise ValueError(f"device {device} was asked for but CUDA is not available")
        return device
    return torch.device("cuda") if torch.cuda.is_available() else torch.device("cpu")


def usable_numerics(name: str | None) -> str | None:
    """`name` where this CPU runs it, else "fp32-cl": a run planned in bf16 on one machine and
    resumed on a worker without bf16 goes on (its weights are fp32 either way)."""
    if name is not None and NUMERICS.get(name, NUMERICS["fp32"]).autocast_dtype is not None and not cpu_has_native_bf16():
        return "fp32-cl"
    return name


def autocast_dtype(device: torch.device, cpu_numerics: str | None = None) -> torch.dtype | None:
    """bf16 where the GPU supports it, else fp16; on the CPU that of `cpu_numerics` (None: fp32).

    CPU autocast is off unless asked for: on CPUs without native bf16 it is slower than fp32,
    and the tests' default path stays fp32.
    """
    if device.type != "cuda":
        return numerics(device, cpu_numerics).autocast_dtype
    return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16


def autocast(device: torch.device, cpu_numerics: str | None = None) -> contextlib.AbstractContextManager:
    """An autocast context for `device` (on the CPU a no-op unless `cpu_numerics` asks for bf16)."""
    dtype = autocast_dtype(device, cpu_numerics)
    if dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype=dtype)


def needs_grad_scaler(device: torch.device) -> bool:
    """fp16 needs loss scaling to keep small gradients; bf16 and fp32 do not."""
    return autocast_dtype(device) == torch.float16


def memory_format(device: torch.device, cpu_numerics: str | None = None) -> torch.memory_format:
    """channels_last on CUDA (tensor cores prefer NHWC convolutions); on the CPU that of
    `cpu_numerics` (None: contiguous)."""
    if device.type == "cuda" or numerics(device, cpu_numerics).channels_last:
        return torch.channels_last
    return torch.contiguous_format


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
