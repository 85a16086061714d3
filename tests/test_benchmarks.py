"""The benchmarks' own arithmetic: the FLOP counts behind every "fraction of the limit" figure."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from solutions_support import load_file
from torch.utils.flop_counter import FlopCounterMode

from vitlib import PRESETS, ViT, ViTConfig

BENCH = Path(__file__).resolve().parent.parent / "benchmarks" / "bench_model.py"
bench_model = load_file(BENCH, "bench_model")


@pytest.mark.parametrize(
    "config",
    [
        PRESETS["vit_tiny_patch16_224"],
        PRESETS["digits_p4"],
        ViTConfig(image_size=(32, 48), patch_size=8, in_chans=2, num_classes=5, embed_dim=24, depth=2, num_heads=3),
    ],
    ids=["vit_tiny", "digits_p4", "non-square"],
)
def test_flops_from_shapes_match_torchs_flop_counter(config):
    torch.manual_seed(0)
    model = ViT(config).eval()
    h, w = (config.image_size, config.image_size) if isinstance(config.image_size, int) else config.image_size
    batch = 2
    images = torch.rand(batch, config.in_chans, h, w)
    parts = bench_model.flops_by_part(config)
    with torch.no_grad(), FlopCounterMode(display=False) as fused:
        model(images)
    gemm_ops = ("aten.convolution", "aten.addmm", "aten.mm")  # the patch projection, the linear layers
    counted = fused.get_flop_counts()["Global"]
    assert sum(v for op, v in counted.items() if str(op) in gemm_ops) == batch * parts["gemm"]
    with torch.no_grad(), FlopCounterMode(display=False) as by_hand:
        model(images, return_attention=True)  # attention by hand: Q Kᵀ and A V are counted matmuls
    assert by_hand.get_total_flops() == batch * bench_model.model_flops(config)
    bmm = sum(v for op, v in by_hand.get_flop_counts()["Global"].items() if str(op) == "aten.bmm")
    assert bmm == batch * parts["attention"]


def test_both_split_benchmarks_use_the_one_svm_baseline():
    """bench_splits.py reuses bench_train.py's SVM, which on split 0 makes the 3 mistakes notebook 06 prints."""
    bench_dir = BENCH.parent
    bench_train = load_file(bench_dir / "bench_train.py", "bench_train")
    bench_splits = load_file(bench_dir / "bench_splits.py", "bench_splits")
    assert bench_splits.svm_accuracy.__module__ == "bench_train"  # imported, not a copy of its own
    assert bench_train.svm_accuracy(0) == pytest.approx(357 / 360, abs=1e-12)
