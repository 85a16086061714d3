"""The training loop, evaluation and their helpers (vitlib.train)."""

import math

import pytest
import torch
from torch import nn

from vitlib import ViT
from vitlib.data import load_digits
from vitlib.train import (
    TrainConfig,
    augment,
    confusion_matrix,
    evaluate,
    fit,
    lr_at,
    predict,
    train_digits,
)


@pytest.fixture(scope="module")
def digits():
    return load_digits(seed=0)


def small_model(seed: int = 0) -> ViT:
    torch.manual_seed(seed)
    return ViT.from_preset("digits_p4", embed_dim=32, depth=1, num_heads=2)


def test_a_few_steps_lower_the_loss(digits):
    model = small_model()
    x, y = digits.x_train[:256], digits.y_train[:256]
    before = nn.functional.cross_entropy(model.eval()(x), y).item()
    history = fit(
        model, x, y, epochs=10, batch_size=32, lr=5e-3, mixup=0.0, max_shift=0, warmup_epochs=0, progress=False
    )
    after = nn.functional.cross_entropy(model(x), y).item()
    assert after < before - 0.8  # from chance (ln 10 = 2.3) to about 1.0
    assert len(history.loss) == len(history.lr) == 10 * 8 == 10 * history.steps_per_epoch
    assert len(history.epoch_loss) == 10 and history.epoch_accuracy == []
    assert history.seconds > 0 and history.cpu_seconds > 0
    assert not model.training  # handed back in eval mode


def test_bf16_autocast_trains_and_really_runs_in_bf16(digits):
    x, y = digits.x_train[:256], digits.y_train[:256]
    settings = {"epochs": 10, "batch_size": 32, "lr": 5e-3, "mixup": 0.0, "max_shift": 0, "warmup_epochs": 0}
    fp32, bf16 = small_model(), small_model()
    before = nn.functional.cross_entropy(bf16.eval()(x), y).item()
    fit(fp32, x, y, progress=False, **settings)
    fit(bf16, x, y, progress=False, bf16=True, **settings)
    after = nn.functional.cross_entropy(bf16(x), y).item()
    assert after < before - 0.8
    assert all(p.dtype == torch.float32 for p in bf16.parameters())  # autocast keeps fp32 master weights
    difference = max((p - q).abs().max().item() for p, q in zip(fp32.parameters(), bf16.parameters(), strict=True))
    assert difference > 1e-4  # the bf16 forward rounds differently: the option is not a no-op


def test_fit_is_seeded_and_leaves_the_global_random_state_alone(digits):
    x, y = digits.x_train[:128], digits.y_train[:128]
    settings = {"epochs": 1, "batch_size": 32, "progress": False, "mixup": 0.2}
    a, b = small_model(), small_model()
    a.blocks[0].drop_path1.p = b.blocks[0].drop_path1.p = 0.2  # dropout-like randomness is seeded too
    state = torch.random.get_rng_state()
    fit(a, x, y, seed=3, **settings)
    assert torch.equal(torch.random.get_rng_state(), state)
    fit(b, x, y, seed=3, **settings)
    for (name, p), q in zip(a.state_dict().items(), b.state_dict().values(), strict=True):
        assert torch.equal(p, q), name
    c = small_model()
    fit(c, x, y, seed=4, **settings)
    assert not torch.equal(c.head.weight, a.head.weight)


def test_validation_accuracy_per_epoch_and_ema(digits):
    model = small_model()
    history = fit(
        model,
        digits.x_train[:128],
        digits.y_train[:128],
        val_images=digits.x_test[:64],
        val_labels=digits.y_test[:64],
        epochs=2,
        ema_decay=0.9,
        progress=False,
    )
    assert len(history.epoch_accuracy) == 2
    assert all(0.0 <= a <= 1.0 for a in history.epoch_accuracy)
    # with EMA, the returned model holds the average, whose accuracy was the last one recorded
    assert evaluate(model, digits.x_test[:64], digits.y_test[:64]).accuracy == history.epoch_accuracy[-1]


def test_lr_schedule_warms_up_then_decays_to_min_lr():
    config = TrainConfig(lr=1e-3, min_lr=1e-5, warmup_epochs=2)
    steps = [lr_at(s, 100, config, steps_per_epoch=10) for s in range(100)]
    assert steps[0] == pytest.approx(1e-3 / 20)
    assert steps[19] == pytest.approx(1e-3)
    assert max(steps) == pytest.approx(1e-3)
    assert all(a >= b for a, b in zip(steps[19:], steps[20:], strict=False))
    assert steps[-1] == pytest.approx(1e-5, abs=1e-6)


def test_integer_shift_keeps_pixel_values():
    images = torch.arange(1.0, 65.0).reshape(1, 1, 8, 8).repeat(50, 1, 1, 1)
    moved = augment(images, generator=torch.Generator().manual_seed(0), max_shift=1)
    assert moved.shape == images.shape
    values = set(torch.arange(0.0, 65.0).tolist())
    assert set(moved.unique().tolist()) <= values  # no blending: each pixel is an original pixel or zero
    for image in moved:  # each image is the original moved by (dy, dx) in {-1, 0, 1}^2
        assert any(torch.equal(image[0], _shifted(images[0, 0], dy, dx)) for dy in (-1, 0, 1) for dx in (-1, 0, 1))
    assert torch.equal(augment(images, max_shift=0), images)


def _shifted(image: torch.Tensor, dy: int, dx: int) -> torch.Tensor:
    out = torch.zeros_like(image)
    h, w = image.shape
    out[max(dy, 0) : h + min(dy, 0), max(dx, 0) : w + min(dx, 0)] = image[
        max(-dy, 0) : h + min(-dy, 0), max(-dx, 0) : w + min(-dx, 0)
    ]
    return out


def test_elastic_warp_is_seeded_small_and_smooth():
    x = torch.zeros(3, 1, 8, 8)
    x[:, :, 2:6, 2:6] = 1.0  # a bright square in the middle: no part of it can leave the image
    a = augment(x, generator=torch.Generator().manual_seed(3), max_shift=0, elastic=0.5)
    b = augment(x, generator=torch.Generator().manual_seed(3), max_shift=0, elastic=0.5)
    c = augment(x, generator=torch.Generator().manual_seed(4), max_shift=0, elastic=0.5)
    assert a.shape == x.shape and torch.equal(a, b) and not torch.equal(a, c)
    assert not torch.equal(a, x)
    # Half a pixel at most: the corners stay dark, the square's core stays bright.
    assert a[..., 0, :].abs().max() == 0 and a[..., :, 0].abs().max() == 0
    assert (a[..., 3:5, 3:5] > 0.99).all()
    with pytest.raises(ValueError, match="must be >= 0"):
        augment(x, elastic=-0.1)


def test_augment_is_seeded_and_checks_its_input():
    x = torch.rand(4, 1, 8, 8)
    a = augment(x, generator=torch.Generator().manual_seed(1), max_rotate=10, max_scale=0.1)
    b = augment(x, generator=torch.Generator().manual_seed(1), max_rotate=10, max_scale=0.1)
    assert torch.equal(a, b) and not torch.equal(a, x)
    with pytest.raises(ValueError, match=r"4-D \(B, C, H, W\)"):
        augment(torch.rand(8, 8))
    with pytest.raises(ValueError, match="must be >= 0"):
        augment(x, max_shift=-1)


def test_confusion_matrix_counts():
    labels = torch.tensor([0, 0, 1, 2, 2, 2])
    preds = torch.tensor([0, 1, 1, 2, 0, 2])
    assert confusion_matrix(labels, preds).tolist() == [[1, 1, 0], [0, 1, 0], [1, 0, 2]]
    assert confusion_matrix(labels, preds, num_classes=4).shape == (4, 4)
    with pytest.raises(ValueError, match="same length"):
        confusion_matrix(labels, preds[:3])


class FixedLogits(nn.Module):
    """Predicts class (index of the brightest pixel) % 3: a model whose answers we know."""

    def forward(self, x):
        return nn.functional.one_hot(x.flatten(1).argmax(1) % 3, 3).float()


def test_evaluate_and_predict_with_a_known_model():
    x = torch.zeros(5, 1, 2, 2)
    for i, pixel in enumerate([0, 1, 2, 3, 1]):
        x[i, 0].view(-1)[pixel] = 1.0
    labels = torch.tensor([0, 1, 2, 0, 2])  # predictions are [0, 1, 2, 0, 1]: one mistake
    assert predict(FixedLogits(), x, batch_size=2).tolist() == [0, 1, 2, 0, 1]
    result = evaluate(FixedLogits(), x, labels)
    assert result.accuracy == pytest.approx(0.8)
    assert result.errors.tolist() == [4]
    assert result.confusion.sum() == 5 and result.confusion[2, 1] == 1
    assert "4/5 correct" in repr(result)


def test_bad_training_inputs_are_named(digits):
    model = small_model()
    x, y = digits.x_train[:8], digits.y_train[:8]
    with pytest.raises(TypeError, match=r"int64 class indices; got torch.float32.*long\(\)"):
        fit(model, x, y.float(), progress=False)
    with pytest.raises(ValueError, match=r"one label per image \(8\)"):
        fit(model, x, y[:5], progress=False)
    with pytest.raises(ValueError, match="4-D"):
        fit(model, x[:, 0], y, progress=False)
    with pytest.raises(ValueError, match="both val_images and val_labels"):
        fit(model, x, y, val_images=x, progress=False)
    with pytest.raises(TypeError, match="unexpected keyword"):
        fit(model, x, y, epochz=3, progress=False)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("epochs", 0, "epochs must be at least 1"),
        ("batch_size", 0, "batch_size must be at least 1"),
        ("lr", -1.0, "lr must be positive"),
        ("label_smoothing", 1.0, "label_smoothing"),
        ("ema_decay", 1.0, "ema_decay"),
        ("mixup", -0.1, "mixup"),
    ],
)
def test_bad_configs_are_named(field, value, message):
    with pytest.raises(ValueError, match=message):
        TrainConfig(**{field: value})


def test_train_digits_end_to_end_small():
    run = train_digits(seed=1, epochs=4, progress=False, model_overrides={"embed_dim": 32, "depth": 1, "num_heads": 2})
    assert run.data.x_test.shape == (360, 1, 8, 8)
    assert run.evaluation.confusion.shape == (10, 10)
    assert run.evaluation.confusion.sum() == 360
    assert run.evaluation.accuracy > 0.5  # four epochs of a tiny model: far above chance (0.1)
    assert len(run.history.loss) == 4 * math.ceil(1437 / TrainConfig().batch_size)


def test_progress_bar_shows_loss_and_accuracy(digits, capsys):
    model = small_model()
    fit(
        model,
        digits.x_train[:64],
        digits.y_train[:64],
        val_images=digits.x_test[:32],
        val_labels=digits.y_test[:32],
        epochs=2,
        progress=True,
    )
    err = capsys.readouterr().err
    assert "training: 100%" in err and "2/2" in err and "loss=" in err and "val acc=" in err


def test_warmup_cosine_ramps_up_then_decays_to_min_lr():
    from vitlib.train import warmup_cosine

    rates = [warmup_cosine(s, 100, lr=1.0, warmup_steps=10, min_lr=0.1) for s in range(100)]
    assert rates[:10] == pytest.approx([(s + 1) / 10 for s in range(10)])  # linear warm-up to lr
    assert rates[10] == pytest.approx(1.0) and all(a >= b for a, b in zip(rates[10:-1], rates[11:], strict=True))
    assert warmup_cosine(100, 100, lr=1.0, warmup_steps=10, min_lr=0.1) == pytest.approx(0.1)
