"""The ViT-VAE of notebook 07 on the digits: training time and held-out reconstruction error.

    python benchmarks/bench_vae.py [--seeds 0 1 2] [--threads 1]

For each seed: train :func:`vitlib.vae.train_digits_vae` with the default
recipe on one CPU thread (as on Binder), then print the wall time, the
CPU time of this process, and the per-pixel mean squared error of the
reconstructions (decoded μ) of the held-out 20 % of the digits, next to
the error of always answering the mean training digit.
Goal: recognisable reconstructions in at most 30 s on one thread.
Wall time on a shared machine is noisy; CPU time less so.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from vitlib.vae import VAETrainConfig, train_digits_vae


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    config = VAETrainConfig()
    print(
        f"ViT-VAE on the digits: {config.epochs} epochs, batch {config.batch_size}, beta {config.beta}, "
        f"{args.threads} thread(s), torch {torch.__version__}"
    )
    header = ("seed", 4), ("wall s", 7), ("cpu s", 6), ("steps", 6), ("test MSE/pixel", 15), ("mean-digit MSE", 15)
    print(" ".join(f"{name:>{width}}" for name, width in header), f"{'ratio':>6}")
    walls, errors = [], []
    for seed in args.seeds:
        wall, cpu = time.perf_counter(), time.process_time()
        run = train_digits_vae(seed=seed, progress=False)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        walls.append(wall)
        errors.append(run.test_error)
        print(
            f"{seed:>4} {wall:>7.1f} {cpu:>6.1f} {len(run.history.kl):>6} {run.test_error:>15.4f} "
            f"{run.baseline_error:>15.4f} {run.test_error / run.baseline_error:>6.2f}"
        )
    if len(args.seeds) > 1:
        print(f"median wall {statistics.median(walls):.1f} s, median test MSE {statistics.median(errors):.4f}")


if __name__ == "__main__":
    main()
