"""The patchify routes side by side, against a plain copy of the same size.

    python benchmarks/bench_patchify.py

Each route reads the image once and writes the patches once, so the
fastest it can be is a plain ``clone`` of the same number of bytes; the
table prints each route's effective bandwidth as a fraction of that.
"""

from __future__ import annotations

import functools
import time

import torch
import torch.nn.functional as F

from vitlib.patches import grid_size
from vitlib.routes import ROUTES


def conv_patchify(weight: torch.Tensor, images: torch.Tensor, patch_size: int) -> torch.Tensor:
    """Patchify as a convolution with one-hot filters: ``(B, C, H, W) -> (B, N, C*P*P)``."""
    return F.conv2d(images, weight, stride=patch_size).flatten(2).transpose(1, 2)


def one_hot_filters(channels: int, patch_size: int) -> torch.Tensor:
    d = channels * patch_size * patch_size
    return torch.eye(d).reshape(d, channels, patch_size, patch_size)


def best_time(fn, *args, repeat: int = 15) -> float:
    """The fastest of ``repeat`` calls of ``fn(*args)``, in seconds (after two warm-up calls)."""
    fn(*args), fn(*args)
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn(*args)
        times.append(time.perf_counter() - start)
    return min(times)


def tokens_of(route, images: torch.Tensor, patch_size: int) -> torch.Tensor:
    """A route's tokens, contiguous, as the Linear that consumes them reads them."""
    return route(images, patch_size).contiguous()


def main() -> None:
    torch.manual_seed(0)
    cases = [(64, 3, 32, 4), (32, 3, 224, 16), (8, 3, 384, 16), (256, 1, 8, 2)]
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    print(f"{'B x C x H x W, P':<24} {'route':<16} {'ms':>8} {'GB/s':>7} {'vs copy':>8}")
    for b, c, s, p in cases:
        images = torch.rand(b, c, s, s)
        reference = ROUTES["reshape/permute"](images, p)
        nbytes = 2 * images.numel() * images.element_size()  # read + write
        copy_time = best_time(torch.clone, images)
        label = f"{b}x{c}x{s}x{s}, P={p}"
        print(f"{label:<24} {'clone (limit)':<16} {copy_time * 1e3:8.3f} {nbytes / copy_time / 1e9:7.2f} {1.0:8.2f}")
        routes = dict(ROUTES)
        routes["Conv2d (one-hot)"] = functools.partial(conv_patchify, one_hot_filters(c, p))
        for name, route in routes.items():
            out = route(images, p)
            assert out.shape == (b, grid_size(s, p)[0] ** 2, c * p * p)
            torch.testing.assert_close(out, reference, rtol=0, atol=0)
            seconds = best_time(tokens_of, route, images, p)
            print(f"{'':<24} {name:<16} {seconds * 1e3:8.3f} {nbytes / seconds / 1e9:7.2f} {copy_time / seconds:8.2f}")


if __name__ == "__main__":
    main()
