"""nn tests compare gradlite on ``device`` with PyTorch on the CPU (the reference needs no GPU build)."""

import pytest


@pytest.fixture
def torch(torch_cpu):
    torch_cpu.manual_seed(0)
    return torch_cpu
