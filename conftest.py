"""pytest configuration shared by the unit tests and nbval's notebook runs."""

import pytest
import torch


def pytest_collectstart(collector):
    # nbval: warnings printed on stderr (deprecations, tqdm bars) differ between machines; never compare them.
    if getattr(collector, "path", None) is not None and collector.path.suffix == ".ipynb":
        collector.skip_compare += ("stderr",)


@pytest.fixture
def exact_fp32(monkeypatch):
    """Full fp32 on a GPU: TF32 (on by default for cuDNN convolutions) would round to 10 bits.

    For the tests that compare CUDA with the CPU (tests/test_cuda.py, tests/test_timm.py).
    """
    if torch.cuda.is_available():  # (a CPU build cannot even set these)
        monkeypatch.setattr(torch.backends.cuda.matmul, "allow_tf32", False)
        monkeypatch.setattr(torch.backends.cudnn, "allow_tf32", False)
