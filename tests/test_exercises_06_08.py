"""Notebook 06's new exercises (predict the attention's shape, attention rollout by hand, the block-parameter
hint), notebook 07's and 08's judgement questions, and the figures of vitlib.viz_analysis: right answers pass,
shortcuts are refused, hints fit the mistake, every option has its own explanation."""

from __future__ import annotations

import pytest
import torch
from matplotlib.figure import Figure
from solutions_support import load_solutions

from vitlib import analysis, hub, vae
from vitlib.exercises import Feedback, nb06, nb07
from vitlib.viz import analysis as viz_analysis


def _solutions():
    return load_solutions("06")


s06 = _solutions()


def test_solutions_pass():
    assert nb06.check_attention_shape(s06.solution_attention_shape())
    assert nb06.check_rollout(s06.solution_rollout())
    assert nb06.check_patch_size_params(s06.solution_patch_size_params())


def test_the_predicted_shape_is_the_models():
    model, _ = hub.load_reference_model()
    _, attention = model(torch.zeros(6, 1, 8, 8), return_attention=True)
    assert tuple(attention.shape) == s06.solution_attention_shape()


@pytest.mark.parametrize(
    ("answer", "hint"),
    [
        (torch.Size([4, 6, 4, 17, 17]), "torch.Size, read from the tensor"),
        ((4, 6, 4, 16, 16), "\\[CLS\\] attends"),
        ((4, 6, 4, 5, 5), "4 x 4-pixel patches"),
        ((6, 4, 4, 17, 17), "wrong order"),
        ((4, 6, 17, 17), "five dimensions"),
        ((4, 6, 4, 17, 17.0), "whole number"),
        ("(4, 6, 4, 17, 17)", "tuple of whole numbers"),
        ((4, 6, 4, 65, 65), "How many tokens"),
    ],
)
def test_attention_shape_hints(answer, hint):
    feedback = nb06.check_attention_shape(answer)
    assert isinstance(feedback, Feedback) and not feedback
    assert __import__("re").search(hint, feedback.message), feedback.message


def test_rollout_refuses_the_library_shortcut():
    feedback = nb06.check_rollout(analysis.attention_rollout)
    assert not feedback and "vitlib.analysis's own rollout" in feedback.message
    feedback = nb06.check_rollout(lambda a: analysis.cls_rollout_maps(a, (2, 2)))
    assert not feedback and "write the four steps yourself" in feedback.message
    # the library's functions are restored afterwards
    eye = torch.eye(5).expand(1, 1, 1, 5, 5)
    torch.testing.assert_close(analysis.attention_rollout(eye), torch.eye(5)[None])


def _rollout(attention, *, residual=True, reverse=False, head0=False):
    eye = torch.eye(attention.shape[-1])
    out = eye.expand(attention.shape[1], *eye.shape)
    for layer in attention:
        a = layer[:, :1].mean(1) if head0 else layer.mean(1)
        if residual:
            a = 0.5 * a + 0.5 * eye
        a = a / a.sum(-1, keepdim=True)
        out = out @ a if reverse else a @ out
    return out


@pytest.mark.parametrize(
    ("func", "hint"),
    [
        (lambda a: _rollout(a, residual=False), "residual connection is missing"),
        (lambda a: _rollout(a, reverse=True), "wrong order"),
        (lambda a: _rollout(a, head0=True), "head 0 only"),
        (lambda a: a.mean(2)[-1], "not rollout yet"),
        (lambda a: a.mean(2), "should be \\(B, T, T\\)"),
        (lambda a: None, "must return a tensor"),
        (lambda a: 1 / 0, "raised ZeroDivisionError"),
        (42, "must be a function"),
    ],
)
def test_rollout_hints(func, hint):
    feedback = nb06.check_rollout(func)
    assert isinstance(feedback, Feedback) and not feedback
    assert __import__("re").search(hint, feedback.message), feedback.message


def test_plot_attention_distance():
    fig = viz_analysis.plot_attention_distance(torch.rand(4, 3) * 5, largest=8.5, uniform=3.0)
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    assert len(ax.collections) == 3  # one scatter per head
    assert [round(t) for t in ax.get_xticks()] == [0, 1, 2, 3]
    with pytest.raises(ValueError, match="\\(depth, heads\\)"):
        viz_analysis.plot_attention_distance(torch.rand(4))


def test_plot_rollout_comparison():
    images = torch.rand(2, 1, 8, 8)
    fig = viz_analysis.plot_rollout_comparison(images, {"a": torch.rand(2, 4, 4), "b": torch.rand(2, 4, 4)})
    assert isinstance(fig, Figure)
    assert len(fig.axes) == 2 * 3 + 2  # the panels and a colour bar per heat-map column
    with pytest.raises(ValueError, match="B = 2"):
        viz_analysis.plot_rollout_comparison(images, {"a": torch.rand(3, 4, 4)})
    with pytest.raises(ValueError, match="non-empty dict"):
        viz_analysis.plot_rollout_comparison(images, {})


# --- notebook 07: two predictions, one letter each ---------------------------------------------------------------


@pytest.mark.parametrize("check", [nb07.check_confident_code, nb07.check_collapsed_code])
def test_nb07_every_option_has_its_own_explanation(check):
    verdicts = {letter: check(letter) for letter in "abcd"}
    assert sum(v.passed for v in verdicts.values()) == 1
    assert len({v.message for v in verdicts.values()}) == 4
    assert check(" (C) ").passed == verdicts["c"].passed  # spaces, brackets and case do not matter
    assert not check("e") and "one letter" in check("e").message


def test_nb07_the_confident_code_answer_is_what_the_kl_says():
    kl = vae.kl_to_standard_normal(torch.zeros(1, 16), torch.full((1, 16), -4.0)).item()
    assert 23.5 < kl < 24.5  # option c, "about 24"; option b is one dimension's share
    assert nb07.check_confident_code(load_solutions("07").solution_confident_code()).passed
    assert "one* latent dimension" in nb07.check_confident_code("b").message


def test_nb07_zeroed_heads_give_one_picture_for_every_digit():
    torch.manual_seed(0)
    model = vae.ViTVAE(latent_dim=4).eval()
    with torch.no_grad():
        for head in (model.to_mu, model.to_logvar):
            head.weight.zero_()
            head.bias.zero_()
        images = torch.rand(5, 1, 8, 8)
        mu, logvar = model.encode(images)
        pictures = model.reconstruct(images)
    assert torch.equal(vae.kl_to_standard_normal(mu, logvar), torch.zeros(5))
    assert all(torch.equal(p, pictures[0]) for p in pictures)
    assert load_solutions("07").solution_collapsed_code() == "b" and nb07.check_collapsed_code("b").passed


def test_plot_rollout_comparison_beside_the_image():
    images = torch.rand(2, 1, 8, 8)
    panels = {"a": torch.rand(2, 4, 4), "b": torch.rand(2, 4, 4)}
    over = viz_analysis.plot_rollout_comparison(images, panels)
    beside = viz_analysis.plot_rollout_comparison(images, panels, overlay=False)
    assert [len(ax.images) for ax in over.axes[1:3]] == [2, 2]  # the grey image, then the heat map over it
    assert [len(ax.images) for ax in beside.axes[1:3]] == [1, 1]  # the heat map alone
    heat = beside.axes[1].images[0]
    assert heat.get_array().shape == (4, 4) and heat.get_interpolation() == "nearest"  # one cell per patch
    assert "beside it" in beside.description and "laid over it" in over.description
