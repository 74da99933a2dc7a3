import pytest
from helpers import BACKENDS, cuda_available, torch


@pytest.fixture(params=BACKENDS)
def backend(request):
    """Every op test runs on numpy, torch-cpu, array_api_strict and (with a GPU) torch-cuda."""
    name = request.param
    if name.startswith("torch") and torch is None:
        pytest.skip("torch not installed")
    if name == "torch-cuda" and not cuda_available():
        pytest.skip("no CUDA GPU")
    return name
