"""vitlib's ViT against the same weights in Hugging Face transformers.

    python benchmarks/bench_model.py [--quick]

For ViT-Ti/16 and ViT-S/16 at 224 px, batch 1 and 8: inference images per
second in fp32 and with bf16 autocast, the ratio vitlib / transformers, and
the achieved GFLOP/s as a fraction of this machine's fp32 matrix-multiply
rate, measured in the same run (the physical limit for a model that is
almost all matrix multiplies). Picks CUDA when available, else the CPU.
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import time

import torch

from vitlib import PRESETS, ViT, ViTConfig
from vitlib.hub import vit_from_transformers


def model_flops(config: ViTConfig) -> float:
    """Forward FLOPs for one image (2 per multiply-add), from the shapes alone."""
    from vitlib.patches import grid_size

    gh, gw = grid_size(config.image_size, config.patch_size)
    n, d = gh * gw + 1, config.embed_dim
    hidden = int(d * config.mlp_ratio)
    patch = gh * gw * d * config.in_chans * config.patch_size**2
    per_block = n * d * 3 * d + 2 * n * n * d + n * d * d + 2 * n * d * hidden
    return 2.0 * (patch + config.depth * per_block + d * config.num_classes)


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def infer(model, images: torch.Tensor, dtype: str, device: torch.device) -> torch.Tensor:
    """Logits of vitlib's ViT or a transformers ViT, in fp32 or under bf16 autocast."""
    autocast = torch.autocast(device.type, dtype=torch.bfloat16) if dtype == "bf16" else contextlib.nullcontext()
    with torch.inference_mode(), autocast:
        out = model(images) if isinstance(model, ViT) else model(pixel_values=images).logits
    return out


def paired_seconds(model_a, model_b, images, dtype, device, *, repeat: int) -> tuple[float, float]:
    """Median seconds per forward of two models, timed in alternation so that drift hits both alike."""
    for model in (model_a, model_b, model_a, model_b):  # warm-up
        infer(model, images, dtype, device)
    sync(device)
    times: tuple[list[float], list[float]] = ([], [])
    for _ in range(repeat):
        for model, bucket in zip((model_a, model_b), times, strict=True):
            start = time.perf_counter()
            infer(model, images, dtype, device)
            sync(device)
            bucket.append(time.perf_counter() - start)
    return statistics.median(times[0]), statistics.median(times[1])


def matmul_limit(device: torch.device) -> float:
    """The best fp32 GEMM rate (FLOP/s) seen: fastest of 10 runs at a few square sizes."""
    best = 0.0
    for size in (512, 1024, 2048):
        a = torch.randn(size, size, device=device)
        b = torch.randn(size, size, device=device)
        for _ in range(12):
            start = time.perf_counter()
            torch.mm(a, b)
            sync(device)
            seconds = time.perf_counter() - start
            best = max(best, 2 * size**3 / seconds)
    return best


def hf_model(config: ViTConfig, device: torch.device):
    from transformers import ViTConfig as HFConfig
    from transformers import ViTForImageClassification

    hf_config = HFConfig(
        hidden_size=config.embed_dim,
        num_hidden_layers=config.depth,
        num_attention_heads=config.num_heads,
        intermediate_size=int(config.embed_dim * config.mlp_ratio),
        image_size=config.image_size,
        patch_size=config.patch_size,
        num_labels=config.num_classes,
        layer_norm_eps=config.eps,
    )
    torch.manual_seed(0)
    return ViTForImageClassification(hf_config).to(device).eval()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="ViT-Ti only, fewer repeats")
    args = parser.parse_args()
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    name = torch.cuda.get_device_name(0) if device.type == "cuda" else f"CPU, {torch.get_num_threads()} threads"
    limit = matmul_limit(device)
    print(f"torch {torch.__version__} on {name}; fp32 matmul limit {limit / 1e9:.1f} GFLOP/s")
    columns = ("model", "batch", "dtype", "vitlib img/s", "HF img/s", "ratio", "GFLOP/s", "of limit")
    print("{:<8} {:>5} {:<6} {:>12} {:>9} {:>6} {:>8} {:>8}".format(*columns))
    presets = ["vit_tiny_patch16_224"] if args.quick else ["vit_tiny_patch16_224", "vit_small_patch16_224"]
    repeat = 5 if args.quick else 15
    for preset in presets:
        config = PRESETS[preset]
        reference = hf_model(config, device)
        ours = vit_from_transformers(reference).to(device).eval()
        flops = model_flops(config)
        for batch in (1, 8):
            images = torch.rand(batch, 3, 224, 224, device=device)
            with torch.inference_mode():
                torch.testing.assert_close(ours(images), reference(pixel_values=images).logits, rtol=1e-4, atol=1e-4)
            for dtype in ("fp32", "bf16"):
                t_ours, t_ref = paired_seconds(ours, reference, images, dtype, device, repeat=repeat)
                achieved = flops * batch / t_ours
                fraction = f"{achieved / limit:8.0%}" if dtype == "fp32" else f"{'-':>8}"
                print(
                    f"{preset.split('_')[1]:<8} {batch:>5} {dtype:<6} {batch / t_ours:12.1f} {batch / t_ref:9.1f} "
                    f"{t_ref / t_ours:6.2f} {achieved / 1e9:8.1f} {fraction}"
                )


if __name__ == "__main__":
    main()
