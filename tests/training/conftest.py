"""Training tests run tiny nets on a shared 2-core machine: one torch thread each (OpenMP
threads spin-waiting on busy cores made a step 20x slower), restored afterwards."""
import pytest


@pytest.fixture(autouse=True)
def _one_torch_thread():
    from workers.ml.device import cpu_threads

    with cpu_threads(1):
        yield
