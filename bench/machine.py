"""The machine a benchmark ran on, in one line (every figure is printed with it).

`machine()` names the CPU, the cores, the load average when the bench started (a busy machine
says so in its own figures), Python and the kernel; `torch_line()` adds torch, its threads and the
GPU when there is one (imported only by the benches that use torch)."""
from __future__ import annotations

import os
import platform
from pathlib import Path


def machine() -> str:
    model = platform.processor() or "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    load = os.getloadavg()[0]
    return (f"{model}, {os.cpu_count()} cores, load average {load:.2f} at start, "
            f"Python {platform.python_version()}, {platform.system()} {platform.release()}")


def torch_line() -> str:
    import torch

    gpu = f"GPU {torch.cuda.get_device_name(0)}" if torch.cuda.is_available() else "no GPU"
    return f"torch {torch.__version__} ({torch.get_num_threads()} threads), {gpu}"
