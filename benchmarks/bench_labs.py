"""The labs' experiments (notebooks 11 and 12), seed by seed: every effect the notebooks state, on two seeds or more.

    python benchmarks/bench_labs.py                  # seeds 0 and 1, both notebooks
    python benchmarks/bench_labs.py --seeds 0 1 2 --only 11

A seed fixes the digits' train / validation / test split (``vitlib.data.load_digit_splits``), the initial
weights and the order of the batches; the notebooks run seed 0. Accuracies are on the validation part (the
test part is read once, in notebook 12, for the one model chosen). One CPU thread; the CPU time of each part
is printed, since other jobs change the wall time.

Notebook 11: ``vitlib.variants.DEEP_CONFIG`` (12 blocks, D = 32) with PyTorch's default initialisation, 4 epochs
(72 steps) at lr 3e-3 without gradient clipping, with no warm-up or 2 epochs (36 steps) of it.
Notebook 12: preset ``digits_p4`` and ``vitlib.variants.LAB_RECIPE`` (6 epochs, 108 steps), one planted bug
at a time.
"""

from __future__ import annotations

import argparse
import math
import time
from dataclasses import replace

import torch

from vitlib import PRESETS
from vitlib.data import load_digit_splits, stratified_subset
from vitlib.hub import load_reference_model
from vitlib.train import evaluate, fit, predict
from vitlib.variants import (
    DEEP_CONFIG,
    LAB_RECIPE,
    VariantViT,
    attention_entropy,
    block_grad_norms,
    depth_profile,
    reinitialize,
)

NB11_RECIPE = replace(LAB_RECIPE, epochs=4, lr=3e-3, grad_clip=None)
WARMUP_STEPS = 36  # two epochs of the 72 steps
ABLATIONS = {
    "pre-norm (the ViT's block)": {},
    "no LayerNorm": {"norm": "none"},
    "no residual": {"residual": False},
    "no MLP": {"mlp": False},
    "no 1/sqrt(d)": {"scale": False},
}
INIT_STDS = (0.02, None, 0.1, 0.3)  # None: nn.Linear's default


class Percent(float):
    """An accuracy, printed as a percentage."""


def deep_model(seed: int, **block) -> VariantViT:
    """Notebook 11's model with the block options ``block``, drawn from ``seed``, PyTorch's init."""
    torch.manual_seed(seed)
    return reinitialize(VariantViT(DEEP_CONFIG, block=block))


def accuracy(model, data, images=None) -> Percent:
    """Validation accuracy (of ``images`` instead of the validation images, if given)."""
    return Percent(evaluate(model, data.x_val if images is None else images, data.y_val).accuracy)


def nb11(seed: int) -> dict[str, float]:
    data = load_digit_splits(seed=seed)
    probe = data.x_train[:256], data.y_train[:256]
    out: dict[str, float] = {}
    for norm in ("post", "pre"):
        for warm in (0, WARMUP_STEPS):
            model = deep_model(seed, norm=norm)
            fit(model, data.x_train, data.y_train, config=NB11_RECIPE, warmup_steps=warm, seed=seed, progress=False)
            run = f"{norm}-norm, warm-up {warm} steps"
            out[run] = accuracy(model, data)
            profile = depth_profile(model, data.x_val, data.y_val)
            out[f"  {run}: gradient at the embedding / at the last block"] = (profile.grad[0] / profile.grad[-1]).item()
            out[f"  {run}: classes predicted"] = predict(model, data.x_val).unique().numel()
    for norm in ("post", "pre"):
        g = block_grad_norms(deep_model(seed, norm=norm), *probe, parameter="mlp.fc2.weight")
        out[f"{norm}-norm at init: |grad fc2|, last block / first"] = (g[-1] / g[0]).item()
    for name, block in ABLATIONS.items():
        model = deep_model(seed, **block)
        profile = depth_profile(model, *probe)
        out[f"  {name}: token spread at init, last block"] = profile.spread[-1].item()
        fit(
            model,
            data.x_train,
            data.y_train,
            config=NB11_RECIPE,
            warmup_steps=WARMUP_STEPS,
            seed=seed,
            progress=False,
        )
        out[name] = accuracy(model, data)
    images = data.x_train[:64]
    for std in INIT_STDS:
        for scale in (True, False):
            torch.manual_seed(seed)
            model = reinitialize(VariantViT(PRESETS["digits"], embed_dim=192, num_heads=3, block={"scale": scale}), std)
            with torch.no_grad():
                _, maps = model.eval()(images, return_attention=True)
            name = "nn.Linear default" if std is None else f"std {std}"
            key = f"first layer's attention entropy / ln 17, {name}, {'with' if scale else 'without'} 1/sqrt(d)"
            out[key] = attention_entropy(maps[0]).mean().item() / math.log(17)
    return out


def lab_model(seed: int, **options) -> VariantViT:
    torch.manual_seed(seed)
    return VariantViT(PRESETS["digits_p4"], **options)


def nb12(seed: int) -> dict[str, float]:
    data = load_digit_splits(seed=seed)
    out: dict[str, float] = {}

    def train(model, images=None, labels=None, val_images=None, **changes):
        """As the notebook trains: scored on the validation digits after every epoch (which, for the model that
        ignores eval(), draws dropout masks during training too, so it is part of the run)."""
        images = data.x_train if images is None else images
        labels = data.y_train if labels is None else labels
        val_images = data.x_val if val_images is None else val_images
        return fit(
            model,
            images,
            labels,
            config=LAB_RECIPE,
            seed=seed,
            val_images=val_images,
            val_labels=data.y_val,
            progress=False,
            **changes,
        )

    base = lab_model(seed)
    train(base)
    out["baseline"] = accuracy(base, data)
    out["baseline, validation images x 16 (not normalised at evaluation)"] = accuracy(base, data, data.x_val * 16)
    model = lab_model(seed, pos_embed="none")
    train(model)
    out["no positions"] = accuracy(model, data)
    # the four 4 x 4 patches of each digit moved (the grid turned by 180 degrees), each patch's pixels as they were
    shuffled = data.x_val.reshape(-1, 1, 2, 4, 2, 4).flip(2, 4).reshape(-1, 1, 8, 8)
    with torch.no_grad():
        out["  no positions: |logits(patches moved) - logits|, largest"] = (
            (model(shuffled) - model(data.x_val)).abs().max().item()
        )
    model = lab_model(seed, block={"batch_first": False})
    train(model)
    out["batch_first missing"] = accuracy(model, data)
    with torch.no_grad():
        cls = model.forward_features(data.x_val)[:, 0]  # (288, D): the [CLS] output of every image
    out["  batch_first missing: spread of the [CLS] output over the images"] = cls.std(0).max().item()
    model = lab_model(seed, block={"softmax_dim": -2})
    train(model)
    out["softmax over the queries"] = accuracy(model, data)
    with torch.no_grad():
        _, maps = model(data.x_val, return_attention=True)
    rows = maps.sum(-1)
    out["  softmax over the queries: row sums, smallest"] = rows.min().item()
    out["  softmax over the queries: row sums, largest"] = rows.max().item()
    model = lab_model(seed, cls_index=1)
    train(model)
    out["[CLS] read from index 1"] = accuracy(model, data)
    reference, _ = load_reference_model()
    wrong = VariantViT(reference.config, cls_index=1)
    wrong.load_state_dict(reference.state_dict())
    # one shipped model, trained on split 0's training part (the validation part of split 0 included)
    out["shipped model, [CLS] index 0"] = accuracy(reference, data)
    out["shipped model, index 1"] = accuracy(wrong, data)
    for warm in (0, None):  # none, or the recipe's one epoch
        model = lab_model(seed)
        train(model, lr=1e-2, warmup_steps=warm)
        out[f"lr 1e-2, warm-up {'one epoch' if warm is None else warm}"] = accuracy(model, data)
    model = lab_model(seed, drop_rate=0.5, ignore_eval=True)
    train(model)
    for i in range(3):
        out[f"dropout 0.5, no eval(): evaluation {i + 1}"] = accuracy(model, data)
    model.ignore_eval = False
    out["dropout 0.5, with eval()"] = accuracy(model, data)
    order = torch.randperm(len(data.y_train), generator=torch.Generator().manual_seed(seed))
    model = lab_model(seed)
    history = train(model, labels=data.y_train[order])
    out["labels shuffled"] = accuracy(model, data)
    out["  labels shuffled: last epoch's training loss"] = history.train_loss[-1]
    model = lab_model(seed)
    train(model, images=data.x_train * 16, val_images=data.x_val * 16)
    out["not normalised (x 16), training and evaluation"] = accuracy(model, data, data.x_val * 16)
    x, y = stratified_subset(data.x_train, data.y_train, 0.1, seed=seed)
    curves = {}
    for name, vx, vy in (("train", x, y), ("validation", data.x_val, data.y_val)):
        history = fit(
            lab_model(seed, drop_path_rate=0.0),
            x,
            y,
            config=LAB_RECIPE,
            epochs=40,
            seed=seed,
            val_images=vx,
            val_labels=vy,
            progress=False,
        )
        curves[name] = history.val_accuracy
    out["10 % of the training digits, 40 epochs: training accuracy, last"] = Percent(curves["train"][-1])
    out["  validation accuracy, best"] = Percent(max(curves["validation"]))
    out["  validation accuracy, last"] = Percent(curves["validation"][-1])
    out["  first epoch of the best validation accuracy"] = 1 + curves["validation"].index(max(curves["validation"]))
    test = evaluate(base, data.x_test, data.y_test).accuracy
    out["the baseline (chosen on validation) on the test part, read once"] = Percent(test)
    return out


def report(name: str, runs: dict[int, dict[str, float]], seconds: dict[int, float]) -> None:
    seeds = list(runs)
    print(f"\n{name}")
    print(f"{'':<78}" + "".join(f"{'seed ' + str(s):>10}" for s in seeds))
    for key in runs[seeds[0]]:
        values = [runs[s][key] for s in seeds]
        cells = "".join(f"{100 * v:>9.1f}%" if isinstance(v, Percent) else f"{v:>10.3g}" for v in values)
        print(f"{key:<78}{cells}")
    print(f"{'CPU seconds':<78}" + "".join(f"{seconds[s]:>10.1f}" for s in seeds))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--only", choices=("11", "12"))
    args = parser.parse_args()
    torch.set_num_threads(1)
    print(f"torch {torch.__version__}, 1 thread; seeds {args.seeds}")
    for number, experiment, title in (
        ("11", nb11, "Notebook 11: the deep, thin model (validation accuracy after 72 steps)"),
        ("12", nb12, "Notebook 12: planted bugs, preset digits_p4 (validation accuracy after 108 steps)"),
    ):
        if args.only not in (None, number):
            continue
        runs, seconds = {}, {}
        for seed in args.seeds:
            start = time.process_time()
            runs[seed] = experiment(seed)
            seconds[seed] = time.process_time() - start
        report(title, runs, seconds)


if __name__ == "__main__":
    main()
