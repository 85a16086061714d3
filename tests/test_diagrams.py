"""The two teaching diagrams: the pipeline's shapes are the model's, attention's steps are the formula's."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from matplotlib.figure import Figure

import vitlib
from vitlib import viz
from vitlib.viz import diagrams


def _texts(fig: Figure) -> str:
    return "\n".join(t.get_text() for ax in fig.axes for t in ax.texts + [ax.title])


def test_pipeline_shows_the_seeds_shapes():
    text = _texts(diagrams.plot_pipeline())
    for shape in ("(1, 3, 32, 32)", "(1, 4, 768)", "(1, 4, 512)", "(1, 5, 512)", "(1, 512)", "(1, 10) logits"):
        assert shape in text
    assert "[CLS]" in text and "position" in text and "× L" in text


def test_pipeline_shapes_are_those_the_model_produces():
    model = vitlib.ViT(
        vitlib.ViTConfig(image_size=32, patch_size=16, num_classes=10, embed_dim=64, depth=1, num_heads=2)
    )
    image = torch.rand(1, 3, 32, 32)
    stages = dict(diagrams.pipeline_stages(32, 16, embed_dim=64, num_classes=model.head.out_features))
    tokens = vitlib.patchify(image, 16)
    assert stages["flatten each patch\n(C, P, P) order"] == str(tuple(tokens.shape))
    assert stages["linear projection\nshared by all patches"] == str(tuple(model.patch_embed(image).shape))
    assert stages["+ position embeddings"] == str(tuple(model.embed(image).shape))
    assert stages["Transformer encoder\nblock × L"] == str(tuple(model.forward_features(image).shape))
    assert stages["[CLS] output\ntoken 0, final norm"] == str(tuple(model.pool(model.forward_features(image)).shape))
    assert stages["head: linear"] == f"{tuple(model(image).shape)} logits"


def test_pipeline_other_sizes_and_a_picture():
    assert ("image", "(1, 3, 224, 224)") in diagrams.pipeline_stages(224, 16, embed_dim=768)
    assert dict(diagrams.pipeline_stages((64, 128), 16))["prepend [CLS]"] == "(1, 33, 512)"
    fig = diagrams.plot_pipeline(torch.rand(1, 3, 32, 32))
    assert len(fig.axes) == 3  # the boxes, the image, its patches
    assert fig.axes[2].images[0].get_array().shape[:2] == viz.mosaic_array(torch.rand(3, 32, 32), 16).shape[:2]
    assert len(viz.figure_to_bytes(fig)) < 60_000  # small enough to store in a notebook


def test_pipeline_bad_input_says_what_and_how():
    with pytest.raises(ValueError, match="16"):
        diagrams.pipeline_stages(30, 16)
    with pytest.raises(ValueError, match="one image"):
        diagrams.plot_pipeline(torch.rand(2, 3, 32, 32))
    with pytest.raises(TypeError, match="image"):
        diagrams.plot_pipeline(np.zeros((3, 32, 32)))


def test_attention_steps_are_the_formula():
    g = torch.Generator().manual_seed(0)
    q, k, v = torch.randn(3, 1, 5, 8, generator=g).unbind(0)
    steps = diagrams.attention_steps(q, k, v)
    assert steps["scores"].shape == (5, 5) and steps["output"].shape == (5, 8)
    torch.testing.assert_close(steps["weights"].sum(-1), torch.ones(5))
    torch.testing.assert_close(steps["output"], F.scaled_dot_product_attention(q, k, v)[0])


def test_attention_steps_figure_draws_the_numbers():
    g = torch.Generator().manual_seed(0)
    q, k, v = torch.randn(3, 5, 16, generator=g).unbind(0)
    fig = diagrams.plot_attention_steps(q, k, v)
    panels = [ax for ax in fig.axes if ax.get_title()]
    assert [ax.get_title().split(".")[0] for ax in panels] == ["1", "2", "3", "4", "5"]
    assert "√16" in panels[2].get_title() and "(5, 5)" in panels[3].get_title()
    assert len(fig.axes) == 10  # one colour bar per panel
    weights = panels[3].images[0].get_array()
    np.testing.assert_allclose(weights, diagrams.attention_steps(q, k, v)["weights"].numpy(), rtol=1e-6)
    assert [t.get_text() for t in panels[0].get_yticklabels()] == ["[CLS]", "patch 0", "patch 1", "patch 2", "patch 3"]
    assert len(panels[3].texts) == 25


def test_attention_steps_bad_input():
    with pytest.raises(TypeError, match="q must be a torch.Tensor"):
        diagrams.attention_steps([[1.0]], torch.zeros(1, 1), torch.zeros(1, 1))
    with pytest.raises(ValueError, match="one head"):
        diagrams.attention_steps(torch.zeros(2, 5, 8), torch.zeros(2, 5, 8), torch.zeros(2, 5, 8))
    with pytest.raises(ValueError, match="same shape"):
        diagrams.attention_steps(torch.zeros(5, 8), torch.zeros(4, 8), torch.zeros(5, 8))


def test_attention_steps_figure_says_where_the_weights_came_from_and_its_numbers_are_readable():
    g = torch.Generator().manual_seed(0)
    q, k, v = torch.randn(3, 5, 16, generator=g).unbind(0)
    fig = diagrams.plot_attention_steps(q, k, v, title="random weights")
    assert fig._suptitle.get_text() == "random weights"
    assert diagrams.plot_attention_steps(q, k, v)._suptitle is None
    numbers = [t for ax in fig.axes for t in ax.texts]
    assert len(numbers) == 50 and min(t.get_fontsize() for t in numbers) >= 7  # about 8 px at 80 dpi, or more
