"""The shipped inspectable model (vitlib/weights/digits_vit_p2.safetensors): it loads strictly through
vitlib.hub, gives the accuracy it records, and tools/train_reference_model.py reproduces its training."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from safetensors import safe_open
from solutions_support import load_file

import vitlib
from vitlib import hub
from vitlib.data import load_digits
from vitlib.train import evaluate

ROOT = Path(__file__).resolve().parent.parent
WEIGHTS = ROOT / "vitlib" / "weights" / "digits_vit_p2.safetensors"


def _script():
    return load_file(ROOT / "tools" / "train_reference_model.py", "train_reference_model")


@pytest.fixture(scope="module")
def metadata() -> dict:
    with safe_open(str(WEIGHTS), framework="pt") as f:
        return f.metadata()


def test_the_file_is_small_and_records_its_recipe(metadata):
    assert WEIGHTS.stat().st_size < 3_000_000
    recipe = json.loads(metadata["recipe"])
    script = _script()
    assert recipe["preset"] == script.PRESET == "digits" and recipe["split"] == script.SPLIT
    assert recipe["train_config"]["epochs"] == script.EPOCHS
    from dataclasses import asdict

    assert recipe["train_config"] == json.loads(json.dumps(asdict(script.recipe())))  # the script's recipe today
    assert recipe["model_overrides"] == script.MODEL_OVERRIDES


def test_loads_strictly_and_gives_the_recorded_accuracy(metadata):
    model = hub.load_checkpoint(WEIGHTS, config=vitlib.PRESETS["digits"])
    assert model.patch_embed.grid_size == (4, 4)  # 16 patch tokens
    data = load_digits(seed=json.loads(metadata["recipe"])["split"])
    evaluation = evaluate(model, data.x_test, data.y_test)
    assert evaluation.accuracy == pytest.approx(float(metadata["test_accuracy"]), abs=1e-6)
    assert len(evaluation.errors) == int(metadata["test_errors"])
    # the bar: 98.5 %. The shipped model (split 0) gives 98.89 % (4 of 360 wrong). The same recipe on
    # splits 0-9 (benchmarks/bench_splits.py --reference; README, Numbers): mean 98.92 %, >= 98.61 % (at most 5
    # of 360 wrong) on every split
    assert evaluation.accuracy >= 0.985
    assert len(evaluation.errors) == 4 and len(evaluation.labels) == 360
    # and with the shapes alone (heads inferred from D = 64 would be wrong: the config says 4)
    state = hub.read_checkpoint(WEIGHTS)[0]
    assert set(state) == set(model.state_dict())


def test_the_script_reproduces_the_first_epoch(metadata, one_thread):
    """Re-train the recipe's first epoch (its warm-up: the same steps as in the full run) and compare."""
    script = _script()
    prefix = script.train_prefix()
    recorded_loss = torch.tensor(json.loads(metadata["prefix_loss"]))
    assert len(recorded_loss) == prefix.history.log_every == 23  # one epoch
    torch.testing.assert_close(torch.tensor(prefix.history.loss), recorded_loss, rtol=1e-3, atol=1e-4)
    recorded = torch.tensor(json.loads(metadata["prefix_fingerprint"]), dtype=torch.float64)
    got = torch.tensor(script.fingerprint(prefix.model), dtype=torch.float64)
    torch.testing.assert_close(got, recorded, rtol=1e-3, atol=1e-3)


def test_the_fingerprint_tells_weights_apart():
    script = _script()
    torch.manual_seed(0)
    a = vitlib.ViT.from_preset("digits")
    torch.manual_seed(1)
    b = vitlib.ViT.from_preset("digits")
    assert script.fingerprint(a) != script.fingerprint(b)
    assert len(script.fingerprint(a)) == len(a.state_dict())


# --- notebook 10's two shipped models: the ViT on translated digits and the MAE (tools/train_reference_model.py
# --model translated / --model mae). The recorded prefixes are compared at rtol 3e-5 on the losses: other CPU
# kernels (AVX2, AVX-512, the generic ones: ATEN_CPU_CAPABILITY=default ...) change the last bits of each step's
# float32 sums, and 20-90 training steps grow that to about 1e-7 relative (measured: 2e-7 with the generic
# kernels); a changed recipe moves them by 9 % or more (measured on the MAE: another seed, learning rate, batch
# size or mask ratio).
# The weight fingerprints (per-tensor sums of up to 16k weights, some close to 0) are compared like the digits
# ViT's, at 1e-3: the generic kernels move one of the translated model's by 2.8e-4 after its 90 steps.

TRANSLATED = ROOT / "vitlib" / "weights" / "translated_digits_vit.safetensors"
MAE = ROOT / "vitlib" / "weights" / "digits_mae_p4.safetensors"


def _metadata(path: Path) -> dict:
    with safe_open(str(path), framework="pt") as f:
        return f.metadata()


@pytest.mark.parametrize("path", [TRANSLATED, MAE], ids=["translated", "mae"])
def test_notebook_10_files_are_small_and_record_the_scripts_recipe(path):
    assert path.stat().st_size < 1_000_000
    recipe, script = json.loads(_metadata(path)["recipe"]), _script()
    from dataclasses import asdict

    if path == TRANSLATED:
        assert recipe["preset"] == script.TRANSLATED_PRESET and recipe["split"] == script.SPLIT
        assert recipe["model_overrides"] == script.TRANSLATED_MODEL_OVERRIDES
        assert recipe["data"] == {"generator": "vitlib.data.load_translated_digits", **script.TRANSLATED_DATA}
        assert recipe["train_config"] == json.loads(json.dumps(asdict(script.translated_recipe())))
    else:
        assert recipe["preset"] == script.MAE_PRESET and recipe["mae"] == script.MAE_DECODER
        assert recipe["model_overrides"] == script.MAE_MODEL_OVERRIDES
        assert recipe["train_config"] == json.loads(json.dumps(asdict(script.mae_recipe())))


def test_translated_model_loads_strictly_and_gives_the_recorded_accuracy():
    model, info = hub.load_shipped("translated_digits_vit")
    assert model.patch_embed.grid_size == (6, 6) and model.pos_embed.shape == (1, 37, 64)
    assert set(hub.read_checkpoint(TRANSLATED)[0]) == set(model.state_dict())  # every key, no other
    data = _script().translated_data()
    evaluation = evaluate(model, data.x_test, data.y_test)
    meta = _metadata(TRANSLATED)
    assert evaluation.accuracy == pytest.approx(info["test_accuracy"], abs=1e-6)
    assert len(evaluation.errors) == int(meta["test_errors"]) and len(evaluation.labels) == 360
    assert evaluation.accuracy >= 0.9  # the issue measured 95.0 % with this recipe; a broken file gives ~10 %


def test_mae_loads_strictly_and_gives_the_recorded_test_loss():
    from vitlib.masking import MaskedAutoencoder

    mae, info = hub.load_shipped("digits_mae_p4")
    assert isinstance(mae, MaskedAutoencoder) and not mae.training
    assert mae.encoder.patch_embed.grid_size == (2, 2) and mae.mask_ratio == 0.5
    assert set(hub.read_checkpoint(MAE)[0]) == set(mae.state_dict())
    # a masked-patch error, compared at the loss tolerance above (one forward pass: far tighter in practice)
    assert _script().mae_test_loss(mae) == pytest.approx(info["test_loss"], rel=3e-5)
    assert len(info["train_loss"]) == info["recipe"]["train_config"]["steps"] == 800
    # it learned: the test error is a fraction of the first steps' (about 0.45 at step 1)
    assert info["test_loss"] < 0.3 * info["train_loss"][0]


def test_the_script_reproduces_the_translated_models_first_epoch(one_thread):
    script = _script()
    model, history = script.train_translated(1)
    meta = _metadata(TRANSLATED)
    recorded = torch.tensor(json.loads(meta["prefix_loss"]))
    assert len(recorded) == history.log_every == 90  # one epoch of 5,748 placed digits in batches of 64
    torch.testing.assert_close(torch.tensor(history.loss), recorded, rtol=3e-5, atol=0)
    got = torch.tensor(script.fingerprint(model), dtype=torch.float64)
    torch.testing.assert_close(got, torch.tensor(json.loads(meta["prefix_fingerprint"]), dtype=torch.float64),
                               rtol=1e-3, atol=1e-3)  # fmt: skip


def test_the_script_reproduces_the_maes_first_steps(one_thread):
    script = _script()
    mae, history = script.train_mae_model(script.MAE_PREFIX_STEPS)
    meta = _metadata(MAE)
    recorded = torch.tensor(json.loads(meta["prefix_loss"]))
    assert len(recorded) == script.MAE_PREFIX_STEPS == 20
    torch.testing.assert_close(torch.tensor(history.loss), recorded, rtol=3e-5, atol=0)
    full = torch.tensor(json.loads(meta["train_loss"]))[:20]  # the full run's first steps: the same steps
    torch.testing.assert_close(full, recorded, rtol=3e-5, atol=1e-5)  # (train_loss is rounded to 5 digits)
    got = torch.tensor(script.fingerprint(mae), dtype=torch.float64)
    torch.testing.assert_close(got, torch.tensor(json.loads(meta["prefix_fingerprint"]), dtype=torch.float64),
                               rtol=1e-3, atol=1e-3)  # fmt: skip
