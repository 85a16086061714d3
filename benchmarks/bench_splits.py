"""The digits ViT against a tuned SVM over many splits, and the inspectable model's recipe over splits 0-9.

    python benchmarks/bench_splits.py                      # notebook 06's ViT and the SVM, splits 0-19
    python benchmarks/bench_splits.py --reference          # tools/train_reference_model.py's recipe, splits 0-9
    python benchmarks/bench_splits.py --splits 0 1 2       # a subset

Each split is its own held-out 20 % stratified split of the scikit-learn
digits (``vitlib.data.load_digits(seed=split)``), with its own initial weights
and augmentation. The SVM is scikit-learn's ``SVC`` (RBF kernel, C = 10,
gamma = 0.05) on the raw 64 pixels, the parameters notebook 06 uses. One
thread; the CPU seconds are printed beside the wall-clock seconds because the
machine may be shared.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
from pathlib import Path

import torch

from vitlib.train import train_digits

sys.path.insert(0, str(Path(__file__).resolve().parent))  # this folder, also when imported from elsewhere
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tools"))

from bench_train import svm_accuracy  # noqa: E402  (the one SVM baseline, shared with bench_train.py)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--splits", type=int, nargs="+", default=None)
    parser.add_argument("--reference", action="store_true", help="the inspectable model's recipe (preset digits)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    if args.reference:
        import train_reference_model as ref

        splits = args.splits if args.splits is not None else list(range(10))
        label = f"inspectable ViT (preset {ref.PRESET!r}, {ref.EPOCHS} epochs)"

        def train(split: int):
            return train_digits(
                seed=split, preset=ref.PRESET, config=ref.recipe(), model_overrides=ref.MODEL_OVERRIDES, progress=False
            )
    else:
        splits = args.splits if args.splits is not None else list(range(20))
        label = "notebook 06's ViT (preset 'digits_p4', train_digits defaults)"

        def train(split: int):
            return train_digits(seed=split, progress=False)

    print(f"torch {torch.__version__}, 1 thread; {label}; load average {os.getloadavg()[0]:.2f}")
    print(f"{'split':>5} {'ViT':>7} {'train s':>8} {'cpu s':>6} {'SVM':>7}")
    vits, svms, walls, cpus = [], [], [], []
    for split in splits:
        run = train(split)
        vits.append(run.evaluation.accuracy)
        svms.append(svm_accuracy(split))
        walls.append(run.history.seconds)
        cpus.append(run.history.cpu_seconds)
        print(
            f"{split:>5} {100 * vits[-1]:>6.2f}% {walls[-1]:>8.1f} {cpus[-1]:>6.1f} {100 * svms[-1]:>6.2f}%",
            flush=True,
        )
    print(
        f"ViT: mean {100 * statistics.mean(vits):.2f} %, min {100 * min(vits):.2f} %, "
        f"{sum(v >= 0.985 for v in vits)}/{len(vits)} splits >= 98.5 %; "
        f"SVM: mean {100 * statistics.mean(svms):.2f} %, min {100 * min(svms):.2f} %; "
        f"ViT >= SVM on {sum(round(v, 6) >= round(s, 6) for v, s in zip(vits, svms, strict=True))}/{len(vits)} splits; "
        f"training s: median {statistics.median(walls):.1f} wall, {statistics.median(cpus):.1f} CPU"
    )


if __name__ == "__main__":
    main()
