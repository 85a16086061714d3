"""Fixtures shared by the tests: the solutions loader, and for the browser tests (widgets, slides, the book)
Chromium and a JupyterLab server."""

from __future__ import annotations

import time

import pytest
import torch
from browser_support import CHROMIUM, LAUNCH_ARGS, LabServer, require
from solutions_support import load_solutions

from vitlib import ViT


@pytest.fixture
def solutions():
    """``solutions("05")`` -> the module ``solutions/05_*.py`` (see :func:`solutions_support.load_solutions`)."""
    return load_solutions


@pytest.fixture(scope="module")
def chromium():
    if not CHROMIUM.exists():
        require(f"{CHROMIUM} not found: run `apt-get install chromium` to run the browser tests")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        require("playwright is not installed: pip install -r requirements-dev.txt")
    started = time.perf_counter()
    playwright = sync_playwright().start()
    try:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            headless=True,
            args=LAUNCH_ARGS,
        )
        print(f"\n[browser] Chromium {browser.version} up in {time.perf_counter() - started:.1f} s")
        try:
            yield browser
        finally:
            browser.close()
    finally:
        playwright.stop()


@pytest.fixture(scope="module")
def lab(chromium, tmp_path_factory):
    server = LabServer(tmp_path_factory.mktemp("jupyterlab"))
    try:
        server.start()
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def digits_attention():
    """A random-weight digits ViT's attention on three random images: ``(images, (4, 3, 4, 5, 5))``."""
    torch.manual_seed(0)
    model = ViT.from_preset("digits_p4").eval()
    images = torch.rand(3, 1, 8, 8)
    with torch.no_grad():
        _, attention = model(images, return_attention=True)
    return images, attention


@pytest.fixture
def one_thread():
    """One torch thread for the test, as the regression numbers were measured: a matmul's sums depend on how
    many threads share it. The previous count is restored afterwards."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
