"""vitlib.engine: the one training loop, its recipe, its learning rate, its history, and evaluation mode."""

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from vitlib import ViT
from vitlib.engine import (
    History,
    NonFiniteLossError,
    Recipe,
    decay_groups,
    epoch_batches,
    evaluating,
    get_lr,
    run_training,
)
from vitlib.masking import MAETrainConfig, MaskedAutoencoder
from vitlib.train import TrainConfig
from vitlib.vae import VAETrainConfig


def small_model(seed: int = 0) -> ViT:
    torch.manual_seed(seed)
    return ViT.from_preset("digits_p4", embed_dim=32, depth=1, num_heads=2)


# --- the recipe: one class, its shared fields checked once; each task checks its own ---------------------------

BAD_RECIPES = [
    ("lr", -1.0, ValueError, r"lr must be > 0; got -1.0"),
    ("lr", 0.0, ValueError, r"lr must be > 0; got 0.0"),
    ("lr", float("nan"), ValueError, "lr must be a finite number; got nan"),
    ("lr", "1e-3", TypeError, "lr must be a real number"),
    ("min_lr", -1e-5, ValueError, "min_lr must be >= 0; got -1e-05"),
    ("min_lr", 1.0, ValueError, r"min_lr \(1.0\) must not exceed lr"),
    ("warmup_steps", -1, ValueError, "warmup_steps must be a whole number >= 0; got -1"),
    ("warmup_steps", 2.5, TypeError, "warmup_steps must be a whole number"),
    ("weight_decay", -0.05, ValueError, "weight_decay must be >= 0; got -0.05"),
    ("grad_clip", -1.0, ValueError, r"grad_clip must be > 0 \(the largest gradient norm\) or None .*got -1.0"),
    ("batch_size", 0, ValueError, "batch_size must be a positive whole number; got 0"),
    ("seed", -1, ValueError, "seed must be a whole number >= 0; got -1"),
]


@pytest.mark.parametrize(("field", "value", "error", "message"), BAD_RECIPES)
@pytest.mark.parametrize("task", [Recipe, TrainConfig, VAETrainConfig, MAETrainConfig])
def test_every_task_checks_the_shared_fields_with_the_one_recipe(task, field, value, error, message):
    with pytest.raises(error, match=message):
        task(**{field: value})


def test_the_tasks_are_recipes_with_their_own_fields_and_defaults():
    for task in (TrainConfig, VAETrainConfig, MAETrainConfig):
        assert issubclass(task, Recipe)
    assert set(vars(MAETrainConfig())) - set(vars(Recipe())) == {"steps", "mask_ratio"}
    assert set(vars(VAETrainConfig())) - set(vars(Recipe())) == {"epochs", "beta", "kl_warmup_epochs"}
    # the MAE's optimiser fields are settable like every task's
    custom = MAETrainConfig(min_lr=1e-4, warmup_steps=5, grad_clip=1.0)
    assert (custom.min_lr, custom.warmup_steps, custom.grad_clip) == (1e-4, 5, 1.0)
    with pytest.raises(ValueError, match=r"steps must be a positive whole number; got 0"):
        MAETrainConfig(steps=0)  # a task's own field, checked by the task
    with pytest.raises(ValueError, match=r"beta must be a finite number; got nan"):
        VAETrainConfig(beta=float("nan"))


@settings(max_examples=200, deadline=None)
@given(
    lr=st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(-3, 3), st.booleans()),
    min_lr=st.floats(allow_nan=True, allow_infinity=True),
    weight_decay=st.floats(allow_nan=True, allow_infinity=True),
    grad_clip=st.one_of(st.none(), st.floats(allow_nan=True, allow_infinity=True)),
    warmup_steps=st.one_of(st.none(), st.integers(-2, 60)),
)
def test_a_recipe_is_either_sound_or_refused_with_a_vitlib_error(lr, min_lr, weight_decay, grad_clip, warmup_steps):
    values = {"lr": lr, "min_lr": min_lr, "weight_decay": weight_decay, "grad_clip": grad_clip}
    try:
        recipe = Recipe(**values, warmup_steps=warmup_steps)
    except (TypeError, ValueError) as error:
        assert any(name in str(error) for name in (*values, "warmup_steps"))  # the message names the field
        return
    assert math.isfinite(recipe.lr) and recipe.lr > 0 and 0 <= recipe.min_lr <= recipe.lr
    assert math.isfinite(recipe.weight_decay) and recipe.weight_decay >= 0
    assert recipe.grad_clip is None or (math.isfinite(recipe.grad_clip) and recipe.grad_clip > 0)
    rates = [get_lr(s, 50, recipe) for s in range(50)]
    assert all(math.isfinite(r) and 0 < r <= recipe.lr * (1 + 1e-12) for r in rates)  # never <= 0, NaN or above lr
    assert all(
        r >= recipe.min_lr * (1 - 1e-12) for r in rates[recipe.warmup_steps or 0 :]
    )  # after the warm-up: at least min_lr


# --- the learning rate: tested once, then its properties ---------------------------------------------------------


def test_get_lr_warms_up_linearly_then_follows_the_cosine_to_min_lr():
    recipe = Recipe(lr=1.0, min_lr=0.1, warmup_steps=10)
    rates = [get_lr(s, 100, recipe) for s in range(101)]
    assert rates[:10] == pytest.approx([(s + 1) / 10 for s in range(10)])  # the first step already moves
    assert rates[10] == pytest.approx(1.0)
    assert rates[55] == pytest.approx(0.1 + 0.45 * (1 + math.cos(math.pi * 0.5)))  # half-way down the cosine
    assert rates[100] == pytest.approx(0.1)  # min_lr at `steps`, one past the last step
    assert get_lr(0, 10, Recipe(lr=1.0, min_lr=0.5, warmup_steps=0)) == 1.0  # no warm-up: start at lr


@settings(max_examples=60, deadline=None)
@given(steps=st.integers(1, 300), warmup=st.integers(0, 300), ratio=st.floats(0, 1))
def test_get_lr_rises_then_never_rises_again(steps, warmup, ratio):
    recipe = Recipe(lr=1e-3, min_lr=1e-3 * ratio, warmup_steps=warmup)
    rates = [get_lr(s, steps, recipe) for s in range(steps)]
    w = min(warmup, steps)
    assert w < 2 or all(a < b for a, b in zip(rates[: w - 1], rates[1:w], strict=True))  # the warm-up climbs
    tail = rates[max(w - 1, 0) :]
    assert all(a >= b - 1e-15 for a, b in zip(tail, tail[1:], strict=False))  # then it only comes down


# --- the loop ------------------------------------------------------------------------------------------------------


def test_no_weight_decay_on_biases_norms_tokens_and_positions():
    model = small_model()
    decay, no_decay = decay_groups(model, 0.05)
    assert decay["weight_decay"] == 0.05 and no_decay["weight_decay"] == 0.0
    names = {id(p): n for n, p in model.named_parameters()}
    decayed = sorted(names[id(p)] for p in decay["params"])
    kept = sorted(names[id(p)] for p in no_decay["params"])
    assert decayed == [
        "blocks.0.attn.proj.weight",
        "blocks.0.attn.qkv.weight",
        "blocks.0.mlp.fc1.weight",
        "blocks.0.mlp.fc2.weight",
        "head.weight",
        "patch_embed.proj.weight",
    ]
    assert "cls_token" in kept and "pos_embed" in kept and "norm.weight" in kept and "head.bias" in kept
    assert len(decayed) + len(kept) == len(names)
    torch.manual_seed(0)
    encoder = ViT(image_size=8, patch_size=2, in_chans=1, num_classes=0, embed_dim=16, depth=1, num_heads=2)
    mae = MaskedAutoencoder(encoder, decoder_dim=16, decoder_heads=2)
    mae.encoder.cls_token.requires_grad_(False)  # frozen parameters are left out of both groups
    _, no_decay = decay_groups(mae, 0.05)
    names = {id(p): n for n, p in mae.named_parameters()}
    kept = {names[id(p)] for p in no_decay["params"]}
    assert "mask_token" in kept and "encoder.pos_embed" in kept and "encoder.cls_token" not in kept


def _quadratic_run(grad_clip, record, *, steps=6, log_every=2):
    """A model of one 2 x 2 weight, pulled towards 100: large gradients, so clipping matters."""
    model = nn.Linear(2, 2, bias=False)
    logged = []

    def loss_fn(model, batch, generator, step):
        return ((model.weight - 100.0) ** 2).sum(), {"double": 2.0 * step}

    def after_step(step):
        record.append(torch.linalg.vector_norm(model.weight.grad).item())

    def on_log(history):
        logged.append(len(history.loss))
        history.logs.setdefault("last", []).append(history.loss[-1])
        return {"loss": "x"}

    recipe = Recipe(lr=0.1, min_lr=0.01, warmup_steps=2, grad_clip=grad_clip)
    history = run_training(
        model,
        loss_fn,
        lambda generator: iter(lambda: None, 0),  # an endless stream of batches (loss_fn needs none)
        steps=steps,
        recipe=recipe,
        log_every=log_every,
        on_log=on_log,
        progress=False,
        after_step=after_step,
    )
    return history, logged


def test_the_loop_counts_steps_clips_logs_and_follows_get_lr():
    clipped, free = [], []
    history, logged = _quadratic_run(0.5, clipped)
    _quadratic_run(None, free)
    assert max(clipped) == pytest.approx(0.5)  # every gradient norm cut to grad_clip
    assert min(free) > 100  # without clipping they are far larger
    assert history.steps["loss"][0] == pytest.approx(4 * 100.0**2, rel=0.05)  # the weights start near 0
    assert history.double == [0.0, 2.0, 4.0, 6.0, 8.0, 10.0]  # whatever loss_fn records, per step, as an attribute
    recipe = Recipe(lr=0.1, min_lr=0.01, warmup_steps=2)
    assert history.lr == [get_lr(s, 6, recipe) for s in range(6)]  # the one learning-rate function
    assert logged == [2, 4, 6] and history.last == history.loss[1::2] and history.log_every == 2
    assert history.seconds > 0 and history.cpu_seconds >= 0


def test_the_history_names_what_it_recorded_when_asked_for_something_else():
    history = History()
    history.steps["loss"].append(1.0)
    with pytest.raises(AttributeError, match=r"no 'kl'; it recorded per step \['loss', 'lr'\] and per log \[\]"):
        _ = history.kl


def test_the_loop_forks_the_global_random_state_and_seeds_it():
    models = [nn.Linear(1, 1), nn.Linear(1, 1)]
    state = torch.random.get_rng_state()
    draws = []

    def loss_fn(model, batch, generator, step):
        draws.append((torch.rand(1).item(), torch.rand(1, generator=generator).item()))
        return model.weight.sum(), {}

    for model in models:
        run_training(model, loss_fn, lambda g: [0, 0], steps=2, recipe=Recipe(lr=0.1, seed=5), progress=False)
    assert torch.equal(torch.random.get_rng_state(), state)  # the caller's random state is untouched
    assert draws[:2] == draws[2:]  # both the global and the engine's generator are seeded from `seed`
    torch.manual_seed(5)
    assert draws[0][0] == torch.rand(1).item()
    torch.random.set_rng_state(state)


def test_a_non_finite_first_loss_points_at_the_data():
    def loss_fn(model, batch, generator, step):
        return model.weight.sum() * batch, {}

    with pytest.raises(NonFiniteLossError, match=r"loss became nan at step 0\. .*data"):
        run_training(nn.Linear(1, 1), loss_fn, lambda g: [float("nan")], steps=1, recipe=Recipe(), progress=False)


def test_batches_that_run_out_before_the_last_step_are_an_error():
    def loss_fn(model, batch, generator, step):
        return model.weight.sum(), {}

    with pytest.raises(ValueError, match=r"ran out after 2 of steps=5 batches"):
        run_training(nn.Linear(1, 1), loss_fn, lambda g: [0, 0], steps=5, recipe=Recipe(), progress=False)


def test_epoch_batches_cover_every_example_once_per_epoch_reshuffled():
    batches = epoch_batches(10, 4)(torch.Generator().manual_seed(0))
    first = [next(batches) for _ in range(3)]
    second = [next(batches) for _ in range(3)]
    assert [len(b) for b in first] == [4, 4, 2]  # the last batch of an epoch may be smaller
    assert sorted(torch.cat(first).tolist()) == sorted(torch.cat(second).tolist()) == list(range(10))
    assert not torch.equal(torch.cat(first), torch.cat(second))


def test_evaluating_restores_every_mode_even_after_an_error():
    model = nn.Sequential(nn.Linear(2, 2), nn.Dropout(0.5), nn.Linear(2, 2)).train()
    model[2].eval()  # a mixed state: it must come back as it was
    with pytest.raises(RuntimeError, match="inside"), evaluating(model):
        assert not any(m.training for m in model.modules()) and not torch.is_grad_enabled()
        raise RuntimeError("inside")
    assert [m.training for m in model.modules()] == [True, True, True, False]
    assert torch.is_grad_enabled()
