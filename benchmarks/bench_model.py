"""vitlib's ViT against the same weights in Hugging Face transformers.

    python benchmarks/bench_model.py [--quick] [--batches 1 8] [--compile]

For ViT-Ti/16 and ViT-S/16 at 224 px, batch 1 and 8: inference images per
second in fp32 and with bf16 autocast, the ratio vitlib / transformers, and
the achieved GFLOP/s as a fraction of this machine's fp32 matrix-multiply
rate, measured in the same run (the physical limit for a model that is
almost all matrix multiplies). On the CPU, a profile of each setting shows
where the rest of the time goes. ``--compile`` adds a row for both models
under ``torch.compile``. Picks CUDA when available, else the CPU.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import sys
import time

import torch

from vitlib import PRESETS, ViT, ViTConfig
from vitlib.env import bf16_note
from vitlib.hub import vit_from_transformers


def flops_by_part(config: ViTConfig) -> dict[str, float]:
    """Forward FLOPs for one image (2 per multiply-add), from the shapes alone.

    ``"gemm"``: the patch projection, every linear layer and the head;
    ``"attention"``: the two products inside attention, ``Q Kᵀ`` and ``A V``.
    """
    from vitlib.patches import grid_size

    gh, gw = grid_size(config.image_size, config.patch_size)
    n, d = gh * gw + 1, config.embed_dim
    hidden = int(d * config.mlp_ratio)
    patch = gh * gw * d * config.in_chans * config.patch_size**2
    linear = n * d * 3 * d + n * d * d + 2 * n * d * hidden  # qkv, proj, fc1, fc2
    gemm = patch + config.depth * linear + d * config.num_classes
    return {"gemm": 2.0 * gemm, "attention": 2.0 * config.depth * 2 * n * n * d}


def model_flops(config: ViTConfig) -> float:
    """Forward FLOPs for one image (2 per multiply-add), from the shapes alone."""
    return sum(flops_by_part(config).values())


@contextlib.contextmanager
def quiet_stderr():
    """Silence file descriptor 2 (the profiler's C++ start/stop lines), Python's errors included."""
    sys.stderr.flush()
    saved = os.dup(2)
    with open(os.devnull, "w") as devnull:
        os.dup2(devnull.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)


# Profiler op names by part of the model (the CPU kernels of torch 2.x).
GEMM_OPS = ("aten::addmm", "aten::mm", "aten::bmm", "aten::mkldnn_convolution", "aten::_convolution")


def breakdown(model: ViT, images: torch.Tensor, config: ViTConfig, seconds: float, limit: float) -> str:
    """Where an fp32 forward's time goes on the CPU, by part, and the best the model could do.

    A profile splits the time between matrix multiplies, the attention core
    and the rest; the shares are applied to ``seconds``, the forward's
    measured time (the profiler's own overhead cancels out). The ceiling is
    the fraction of ``limit`` the model would reach with every matrix
    multiply at the limit and the other parts as measured.
    """
    from torch.profiler import ProfilerActivity, profile

    with torch.inference_mode():
        for _ in range(2):
            model(images)
        with quiet_stderr(), profile(activities=[ProfilerActivity.CPU]) as prof:
            for _ in range(5):
                model(images)
    share = {"gemm": 0.0, "attention": 0.0, "other": 0.0}
    for event in prof.key_averages():
        if event.key in GEMM_OPS:
            part = "gemm"
        elif "scaled_dot_product" in event.key:
            part = "attention"
        else:
            part = "other"
        share[part] += event.self_cpu_time_total
    total = sum(share.values())
    share = {part: value / total for part, value in share.items()}
    flops = {part: value * images.shape[0] for part, value in flops_by_part(config).items()}
    rate = {part: flops[part] / (share[part] * seconds) / limit for part in flops}
    rest = (share["attention"] + share["other"]) * seconds
    ceiling = sum(flops.values()) / (flops["gemm"] / limit + rest) / limit
    return (
        f"  fp32 profile: matrix multiplies {share['gemm']:.0%} of the time (at {rate['gemm']:.0%} of the limit), "
        f"attention core {share['attention']:.0%} (at {rate['attention']:.0%}), the rest {share['other']:.0%} "
        f"(GELU, bias copies, LayerNorm, adds); ceiling with every matrix multiply at the limit: {ceiling:.0%}"
    )


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def infer(model, images: torch.Tensor, dtype: str, device: torch.device) -> torch.Tensor:
    """Logits of vitlib's ViT or a transformers ViT, in fp32 or under bf16 autocast."""
    autocast = torch.autocast(device.type, dtype=torch.bfloat16) if dtype == "bf16" else contextlib.nullcontext()
    with torch.inference_mode(), autocast:
        ours = isinstance(getattr(model, "_orig_mod", model), ViT)  # torch.compile wraps the module
        out = model(images) if ours else model(pixel_values=images).logits
    return out


class GemmProbe:
    """One fp32 square matrix product, timed between the models' forwards.

    Its best rate is the matmul limit under the same conditions as the
    models (a shared or throttled CPU drifts by 10 % or more over a run).
    """

    def __init__(self, device: torch.device, size: int | None = None):
        size = size or (1024 if device.type == "cpu" else 8192)
        self.a, self.b = torch.randn(size, size, device=device), torch.randn(size, size, device=device)
        self.flops, self.device, self.best = 2.0 * size**3, device, 0.0

    def __call__(self) -> None:
        start = time.perf_counter()
        torch.mm(self.a, self.b)
        sync(self.device)
        self.best = max(self.best, self.flops / (time.perf_counter() - start))


def paired_seconds(model_a, model_b, images, dtype, device, *, repeat: int, probe: GemmProbe) -> tuple[float, float]:
    """Median seconds per forward of two models, timed in alternation (with ``probe``) so drift hits all alike."""
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
        probe()
    return statistics.median(times[0]), statistics.median(times[1])


def matmul_limit(device: torch.device) -> float:
    """The best fp32 GEMM rate (FLOP/s) seen: fastest of 12 runs at each of a few square sizes."""
    probes = [GemmProbe(device, size) for size in ((512, 1024, 2048) if device.type == "cpu" else (2048, 4096, 8192))]
    for probe in probes:
        for _ in range(12):
            probe()
    return max(probe.best for probe in probes)


def compile_pair(ours: ViT, reference, device: torch.device) -> tuple:
    """Both models under ``torch.compile``; on the CPU with frozen weights (oneDNN fuses bias and GELU)."""
    import torch._inductor.config

    torch._inductor.config.freezing = device.type == "cpu"  # inference only: weights become constants
    return torch.compile(ours), torch.compile(reference)


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
    parser.add_argument("--batches", type=int, nargs="+", help="batch sizes (default: 1 8 on a CPU, 1 8 64 on CUDA)")
    parser.add_argument(
        "--compile", action="store_true", help="also time both models under torch.compile (inductor, frozen weights)"
    )
    args = parser.parse_args()
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    batches = args.batches or ([1, 8] if device.type == "cpu" else [1, 8, 64])
    name = torch.cuda.get_device_name(0) if device.type == "cuda" else f"CPU, {torch.get_num_threads()} threads"
    start_limit = matmul_limit(device)
    print(f"torch {torch.__version__} on {name}; fp32 matmul limit at the start {start_limit / 1e9:.1f} GFLOP/s")
    print("limit: the best fp32 GEMM rate seen while that row was timed; of limit = GFLOP/s / limit")
    print(bf16_note())
    columns = ("model", "batch", "dtype", "vitlib img/s", "HF img/s", "ratio", "GFLOP/s", "limit", "of limit")
    print("{:<8} {:>5} {:<6} {:>12} {:>9} {:>6} {:>8} {:>8} {:>8}".format(*columns))
    presets = ["vit_tiny_patch16_224"] if args.quick else ["vit_tiny_patch16_224", "vit_small_patch16_224"]
    repeat = 5 if args.quick else 15
    for preset in presets:
        config = PRESETS[preset]
        reference = hf_model(config, device)
        ours = vit_from_transformers(reference).to(device).eval()
        flops = model_flops(config)
        compiled = {preset: compile_pair(ours, reference, device)} if args.compile else {}
        for batch in batches:
            images = torch.rand(batch, 3, 224, 224, device=device)
            with torch.inference_mode():
                torch.testing.assert_close(ours(images), reference(pixel_values=images).logits, rtol=1e-4, atol=1e-4)
            runs = [("fp32", ours, reference), ("bf16", ours, reference)]
            if args.compile:
                runs.append(("fp32+c", *compiled[preset]))
            for label, model_a, model_b in runs:
                dtype = label.split("+")[0]
                probe = GemmProbe(device)
                t_ours, t_ref = paired_seconds(model_a, model_b, images, dtype, device, repeat=repeat, probe=probe)
                achieved = flops * batch / t_ours
                fraction = f"{achieved / probe.best:8.0%}" if dtype == "fp32" else f"{'-':>8}"
                print(
                    f"{preset.split('_')[1]:<8} {batch:>5} {label:<6} {batch / t_ours:12.1f} {batch / t_ref:9.1f} "
                    f"{t_ref / t_ours:6.2f} {achieved / 1e9:8.1f} {probe.best / 1e9:8.1f} {fraction}"
                )
                if label == "fp32":
                    eager_fp32 = (t_ours, probe.best)
            if device.type == "cpu":
                print(breakdown(ours, images, config, *eager_fp32))


if __name__ == "__main__":
    main()
