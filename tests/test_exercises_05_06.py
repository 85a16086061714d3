"""The checkers of notebooks 05 and 06: right answers pass, typical wrong answers get the right hint."""

import re

import pytest
from solutions_support import load_solutions
from torch import nn

from vitlib.exercises import nb05, nb06

# (that every solution passes its checker is tests/test_solutions.py's job, for all notebooks)
s06 = load_solutions("06")


@pytest.mark.parametrize(
    ("attention", "hint"),
    [
        (lambda q, k, v: (q @ k.transpose(-2, -1)).softmax(-1) @ v, "divide the scores by √d"),
        (lambda q, k, v: (q @ k.transpose(-2, -1) / q.shape[-1]).softmax(-1) @ v, "not by d"),
        (lambda q, k, v: (q @ k.transpose(-2, -1) / q.shape[-1] ** 0.5).softmax(-2) @ v, "softmax\\(dim=-1\\)"),
        (lambda q, k, v: (q @ k.transpose(-2, -1) / q.shape[-1] ** 0.5).softmax(-1), "that is the weights"),
        (lambda q, k, v: None, "must return a tensor"),
        (lambda q, k, v: 1 / 0, "raised ZeroDivisionError"),
    ],
)
def test_attention_hints(attention, hint):
    feedback = nb05.check_attention(attention)
    assert not feedback
    assert re.search(hint, feedback.message), feedback.message


@pytest.mark.parametrize(
    ("answer", "hint"),
    [
        ((1, 12, 196, 196), "\\[CLS\\] is a token too"),
        ((1, 64, 197, 197), "each head's width"),
        ((1, 12, 197, 64), "q, k or v"),
        ("197", "tuple of whole numbers"),
    ],
)
def test_attention_shape_hints(answer, hint):
    feedback = nb05.check_attention_shape(answer)
    assert not feedback and re.search(hint, feedback.message), feedback.message


def test_vit_layer_hints_name_each_missing_setting():
    feedback = nb05.check_vit_layer(nn.TransformerEncoderLayer(192, 3, 768, dropout=0.0, activation="gelu"))
    assert not feedback
    for piece in ("batch_first=True", "norm_first=True", "layer_norm_eps=1e-6"):
        assert piece in feedback.message
    assert "gelu" not in feedback.message and "dropout" not in feedback.message
    assert "nn.TransformerEncoderLayer" in nb05.check_vit_layer(nn.Linear(2, 2)).message


@pytest.mark.parametrize(
    ("answer", "hint"),
    [
        (12 * 768 * 768, "weight matrices only"),
        (12 * 768 * 768 + 13 * 768 - 4 * 768, "add the two LayerNorms"),
        (7.0, "one whole number"),
        (123, "four Linear layers"),
    ],
)
def test_block_params_hints(answer, hint):
    feedback = nb06.check_block_params(answer)
    assert not feedback and hint in feedback.message, feedback.message


def test_block_params_answer_is_the_real_count():
    from vitlib import Block

    assert sum(p.numel() for p in Block(768, num_heads=12).parameters()) == s06.solution_block_params()
