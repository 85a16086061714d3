"""Train the models that ship in vitlib/weights/, and write each as a checkpoint that records its recipe.

    python tools/train_reference_model.py                     # digits_vit_p2.safetensors (notebooks 06, 08, 10)
    python tools/train_reference_model.py --model translated  # translated_digits_vit.safetensors (notebook 10)
    python tools/train_reference_model.py --model mae         # digits_mae_p4.safetensors (notebook 10)

The default model is the inspectable digits ViT that notebooks 06 and 08 look inside.

One command, one fixed seed, one CPU thread (about 80 s of CPU). The model is
vitlib's ``digits`` preset: 8 x 8 digits cut into 16 patches of 2 x 2 pixels
(+ [CLS] = 17 tokens), D = 64, 4 blocks of 4 heads, trained with
:func:`vitlib.train.train_digits` (the engine of notebook 06, its default
recipe, with the changes in :data:`TRAIN_OVERRIDES`: half the learning
rate, small rotations and rescalings added to the augmentation, and
stronger mixup) for
:data:`EPOCHS` epochs on the training part of digits split :data:`SPLIT`, with
:data:`MODEL_OVERRIDES` (stochastic depth 0.05) and :data:`EMA_DECAY` (none).

The file's metadata records how it was made and how to check it:

- ``recipe``: the preset, the split and the :class:`~vitlib.train.TrainConfig`, as JSON;
- ``test_accuracy``: the held-out accuracy on the split's 20 % test set;
- ``prefix_loss``: the training losses of the first epoch's steps (the one-epoch
  warm-up, whose learning rates do not depend on the number of epochs), and
  ``prefix_fingerprint``: per-tensor sums of the weights after that epoch.
  ``tests/test_reference_model.py`` re-trains that epoch (about a second) and
  compares both, so that the script and the shipped file cannot drift apart.

``--model translated`` (notebook 10, section 3): preset ``digits_p4`` at 24 x 24 pixels (36 patches of 4 x 4,
learned positions), trained with :func:`vitlib.train.fit` on :func:`vitlib.data.load_translated_digits` (each
training digit of split :data:`SPLIT` scaled 2x and placed at random on the canvas, :data:`TRANSLATED_DATA`) with
:data:`TRANSLATED_OVERRIDES` for :data:`TRANSLATED_EPOCHS` epochs (about 4 minutes of one thread). Its prefix is its
first epoch, as above; ``test_accuracy`` is on the split's test digits, placed at random once.

``--model mae`` (notebook 10, section 2): a :class:`vitlib.masking.MaskedAutoencoder` whose encoder is preset
``digits_p4`` without stochastic depth, pretrained with :func:`vitlib.masking.train_mae` on the 1,437 training
digits of split :data:`SPLIT` **without their labels** (:data:`MAE_DECODER`, :data:`MAE_OVERRIDES`; about 25 s).
Its recipe also names the decoder, so that :func:`vitlib.hub.load_shipped` rebuilds the whole autoencoder. Its
metadata holds ``test_loss`` (the masked-patch error on the test digits, masks of seed 0) instead of an accuracy,
``train_loss`` (the loss of every step, for notebook 10's curve), and its prefix: the first
:data:`MAE_PREFIX_STEPS` steps (the warm-up is fixed at that length, so they do not depend on the number of steps).
"""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict
from pathlib import Path

import torch

from vitlib.train import TrainConfig, evaluate, fit, train_digits

PRESET = "digits"
SPLIT = 0
EPOCHS = 120
# ViTConfig fields changed from the preset: light stochastic depth, as in notebook 06's preset digits_p4 (it adds no
# parameter, so the file loads into PRESETS["digits"] as it is).
MODEL_OVERRIDES: dict = {"drop_path_rate": 0.05}
# TrainConfig fields changed from notebook 06's defaults (besides epochs and seed): half its learning rate, small
# random rotations (up to 10 degrees) and rescalings (up to 10 %) on top of its shifts and elastic warps, and
# stronger mixup (Beta(0.5, 0.5) instead of Beta(0.2, 0.2): more pairs are mixed half and half).
TRAIN_OVERRIDES: dict = {"lr": 1e-3, "max_rotate": 10.0, "max_scale": 0.1, "mixup": 0.5}
EMA_DECAY: float | None = None
WEIGHTS = Path(__file__).resolve().parent.parent / "vitlib" / "weights" / "digits_vit_p2.safetensors"


# --model translated: notebook 06's small ViT (4 x 4 patches, its light stochastic depth) on a 24 x 24 canvas.
TRANSLATED_PRESET = "digits_p4"
TRANSLATED_MODEL_OVERRIDES: dict = {"image_size": 24}  # 6 x 6 = 36 patches of 4 x 4, a learned table of 37 rows
TRANSLATED_DATA: dict = {"canvas": 24, "scale": 2, "copies": 4}  # vitlib.data.load_translated_digits' arguments
TRANSLATED_EPOCHS = 30
# The random places are the augmentation: no sub-pixel shifts or warps on top of them (mixup stays, as in notebook 06).
TRANSLATED_OVERRIDES: dict = {"max_shift": 0.0, "elastic": 0.0}
TRANSLATED_WEIGHTS = WEIGHTS.with_name("translated_digits_vit.safetensors")

# --model mae: the encoder of notebook 09's ViT (preset digits_p4, no stochastic depth), half of its 4 patches hidden.
MAE_PRESET = "digits_p4"
MAE_MODEL_OVERRIDES: dict = {"drop_path_rate": 0.0}
MAE_DECODER: dict = {"decoder_dim": 64, "decoder_depth": 1, "decoder_heads": 4, "mlp_ratio": 2.0, "mask_ratio": 0.5}
MAE_PREFIX_STEPS = 20
# MAETrainConfig fields changed from train_mae's defaults: a warm-up fixed at 20 steps (800 // 40, the default's
# own length for 800 steps), so that the first 20 steps are the same whatever the number of steps.
MAE_OVERRIDES: dict = {"steps": 800, "warmup_steps": MAE_PREFIX_STEPS}
MAE_WEIGHTS = WEIGHTS.with_name("digits_mae_p4.safetensors")

__all__ = ["EMA_DECAY", "EPOCHS", "MODEL_OVERRIDES", "PRESET", "SPLIT", "TRAIN_OVERRIDES", "WEIGHTS", "fingerprint"]
__all__ += ["recipe", "save", "train_prefix"]
__all__ += ["TRANSLATED_DATA", "TRANSLATED_EPOCHS", "TRANSLATED_MODEL_OVERRIDES", "TRANSLATED_OVERRIDES"]
__all__ += ["TRANSLATED_PRESET", "TRANSLATED_WEIGHTS", "train_translated", "translated_data", "translated_recipe"]
__all__ += ["MAE_DECODER", "MAE_MODEL_OVERRIDES", "MAE_OVERRIDES", "MAE_PREFIX_STEPS", "MAE_PRESET", "MAE_WEIGHTS"]
__all__ += ["mae_recipe", "mae_test_loss", "train_mae_model"]


def recipe(epochs: int = EPOCHS) -> TrainConfig:
    """The training recipe: notebook 06's defaults with :data:`TRAIN_OVERRIDES`, for ``epochs`` epochs, seeded
    with :data:`SPLIT`."""
    return TrainConfig(epochs=epochs, seed=SPLIT, ema_decay=EMA_DECAY, **TRAIN_OVERRIDES)


def fingerprint(model: torch.nn.Module) -> list[float]:
    """One number per weight tensor (its sum, in float64), in ``state_dict`` order: ``(n_tensors,)``."""
    return [float(t.double().sum()) for t in model.state_dict().values()]


def train_prefix(seed: int = SPLIT):
    """The first epoch of the recipe (its warm-up), trained alone: a :class:`vitlib.train.DigitsRun`."""
    return train_digits(
        seed=seed, preset=PRESET, config=recipe(epochs=1), model_overrides=MODEL_OVERRIDES, progress=False
    )


def save(
    model, evaluation, *, seconds: float, cpu_seconds: float, prefix, out: Path = WEIGHTS, how=None, extra=None
) -> None:
    """Write ``model``'s weights to ``out`` with the metadata the test checks (see the module's docstring).

    ``how`` is the recipe dict (default: the digits ViT's); ``evaluation`` an :class:`~vitlib.train.Evaluation`
    or None (then ``extra`` holds the model's own test figure); ``prefix`` has ``history`` and ``model``.
    """
    from safetensors.torch import save_file

    how = how or {
        "preset": PRESET,
        "split": SPLIT,
        "model_overrides": MODEL_OVERRIDES,
        "train_config": asdict(recipe()),
    }
    metadata = {"format": "pt", "recipe": json.dumps(how)}
    if evaluation is not None:
        metadata["test_accuracy"] = f"{evaluation.accuracy:.6f}"
        metadata["test_errors"] = str(len(evaluation.errors))
    metadata.update(extra or {})
    metadata.update(
        {
            "train_seconds": f"{seconds:.1f}",
            "train_cpu_seconds": f"{cpu_seconds:.1f}",
            "prefix_loss": json.dumps(prefix.history.loss),
            "prefix_fingerprint": json.dumps(fingerprint(prefix.model)),
            "torch": torch.__version__,
        }
    )
    state = {k: v.detach().contiguous() for k, v in model.state_dict().items()}
    out.parent.mkdir(parents=True, exist_ok=True)
    save_file(state, str(out), metadata=metadata)


# --------------------------------------------------------------------------- --model translated


def translated_recipe(epochs: int = TRANSLATED_EPOCHS) -> TrainConfig:
    """The translated-digits recipe: notebook 06's defaults with :data:`TRANSLATED_OVERRIDES`, seeded with SPLIT."""
    return TrainConfig(epochs=epochs, seed=SPLIT, **TRANSLATED_OVERRIDES)


def translated_data():
    """The training and test images: :func:`vitlib.data.load_translated_digits` of split :data:`SPLIT`."""
    from vitlib.data import load_translated_digits

    return load_translated_digits(seed=SPLIT, **TRANSLATED_DATA)


def train_translated(epochs: int = TRANSLATED_EPOCHS, *, progress: bool = False, data=None):
    """A fresh ViT (initial weights seeded with :data:`SPLIT`) trained for ``epochs``: ``(model, history)``."""
    import vitlib

    data = translated_data() if data is None else data
    torch.manual_seed(SPLIT)
    model = vitlib.ViT.from_preset(TRANSLATED_PRESET, **TRANSLATED_MODEL_OVERRIDES)
    history = fit(model, data.x_train, data.y_train, config=translated_recipe(epochs), progress=progress)
    return model.eval(), history


def _translated_how() -> dict:
    return {
        "preset": TRANSLATED_PRESET,
        "split": SPLIT,
        "model_overrides": TRANSLATED_MODEL_OVERRIDES,
        "data": {"generator": "vitlib.data.load_translated_digits", **TRANSLATED_DATA},
        "train_config": asdict(translated_recipe()),
    }


# --------------------------------------------------------------------------- --model mae


def mae_recipe(steps: int = MAE_OVERRIDES["steps"]):
    """The MAE's recipe: :func:`vitlib.masking.train_mae`'s defaults with :data:`MAE_OVERRIDES`, ``steps`` steps."""
    from vitlib.masking import MAETrainConfig

    return MAETrainConfig(**{**MAE_OVERRIDES, "steps": steps, "seed": SPLIT})


def train_mae_model(steps: int = MAE_OVERRIDES["steps"], *, progress: bool = False):
    """A fresh MAE (encoder seeded with SPLIT) pretrained on the training digits, no labels: ``(mae, history)``."""
    import vitlib
    from vitlib.data import load_digits
    from vitlib.masking import MaskedAutoencoder, train_mae

    torch.manual_seed(SPLIT)
    mae = MaskedAutoencoder(vitlib.ViT.from_preset(MAE_PRESET, **MAE_MODEL_OVERRIDES), **MAE_DECODER)
    history = train_mae(mae, load_digits(seed=SPLIT).x_train, config=mae_recipe(steps), progress=progress)
    return mae.eval(), history


def mae_test_loss(mae) -> float:
    """The MAE's error on the hidden patches of the split's test digits, with the masks of seed 0."""
    from vitlib.data import load_digits
    from vitlib.engine import evaluating

    with evaluating(mae):
        return float(mae(load_digits(seed=SPLIT).x_test, seed=0).loss)


def _mae_how() -> dict:
    return {
        "preset": MAE_PRESET,
        "split": SPLIT,
        "model_overrides": MAE_MODEL_OVERRIDES,
        "mae": MAE_DECODER,
        "train_config": asdict(mae_recipe()),
    }


class _Prefix:
    def __init__(self, model, history):
        self.model, self.history = model, history


def _check_prefix(prefix_loss, full_loss) -> None:
    steps = len(prefix_loss)
    if not torch.allclose(torch.tensor(prefix_loss), torch.tensor(full_loss[:steps]), rtol=1e-5):
        raise RuntimeError("the prefix does not reproduce the full run's first steps; the recipe changed?")


def main_translated(out: Path) -> None:
    data = translated_data()
    prefix = _Prefix(*train_translated(1, data=data))
    model, history = train_translated(progress=True, data=data)
    _check_prefix(prefix.history.loss, history.loss)
    evaluation = evaluate(model, data.x_test, data.y_test)
    save(model, evaluation, seconds=history.seconds, cpu_seconds=history.cpu_seconds, prefix=prefix, out=out,
         how=_translated_how())  # fmt: skip
    print(
        f"{out.name}: accuracy {100 * evaluation.accuracy:.2f} % on the {len(evaluation.labels)} placed test digits "
        f"of split {SPLIT}; trained in {history.seconds:.1f} s ({history.cpu_seconds:.1f} s CPU), "
        f"{out.stat().st_size / 1e6:.2f} MB"
    )


def main_mae(out: Path) -> None:
    prefix = _Prefix(*train_mae_model(MAE_PREFIX_STEPS))
    mae, history = train_mae_model(progress=True)
    _check_prefix(prefix.history.loss, history.loss)
    test_loss = mae_test_loss(mae)
    extra = {"test_loss": f"{test_loss:.6f}", "train_loss": json.dumps([round(v, 5) for v in history.loss])}
    save(mae, None, seconds=history.seconds, cpu_seconds=history.cpu_seconds, prefix=prefix, out=out,
         how=_mae_how(), extra=extra)  # fmt: skip
    print(
        f"{out.name}: masked-patch error {test_loss:.4f} on the test digits of split {SPLIT}; trained in "
        f"{history.seconds:.1f} s ({history.cpu_seconds:.1f} s CPU), {out.stat().st_size / 1e6:.2f} MB"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", choices=("digits", "translated", "mae"), default="digits")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    torch.set_num_threads(1)  # one thread: the same numbers as in the notebooks, and as the test re-trains them
    if args.model == "translated":
        return main_translated(args.out or TRANSLATED_WEIGHTS)
    if args.model == "mae":
        return main_mae(args.out or MAE_WEIGHTS)
    args.out = args.out or WEIGHTS

    prefix = train_prefix()
    run = train_digits(seed=SPLIT, preset=PRESET, config=recipe(), model_overrides=MODEL_OVERRIDES, progress=True)
    steps = prefix.history.log_every  # one epoch
    if not torch.allclose(torch.tensor(prefix.history.loss), torch.tensor(run.history.loss[:steps]), rtol=1e-5):
        raise RuntimeError("the one-epoch prefix does not reproduce the full run's first epoch; the recipe changed?")
    save(run.model, run.evaluation, seconds=run.history.seconds, cpu_seconds=run.history.cpu_seconds, prefix=prefix,
         out=args.out)  # fmt: skip
    print(
        f"{args.out.name}: held-out accuracy {100 * run.evaluation.accuracy:.2f} % "
        f"({len(run.evaluation.errors)} errors of {len(run.evaluation.labels)}) on digits split {SPLIT}; "
        f"trained in {run.history.seconds:.1f} s ({run.history.cpu_seconds:.1f} s CPU), "
        f"{args.out.stat().st_size / 1e6:.2f} MB"
    )


if __name__ == "__main__":
    main()
