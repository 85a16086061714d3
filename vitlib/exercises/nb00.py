"""Checkers for notebook 00, *tokens vs. patches*."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..checks import whole
from . import Shortcut, checker, correct, judge_choice, not_yet, result_problem, run_by_hand

__all__ = ["check_gradient_rows", "check_lookup_as_matmul", "check_predicted_shape"]


_GRADIENT_ROWS = {
    "a": (
        False,
        "every row is a parameter, but the loss depends only on the rows the lookup read. Write the lookup as "
        "one_hot(ids) @ W (the cell above shows it is the same): which entries of W does that product touch?",
    ),
    "b": (
        True,
        "the lookup is one_hot(ids) @ W, so W's gradient is one_hot(ids)ᵀ @ (the gradient of the vectors): a row gets "
        "a gradient only if its id was read (a row read twice gets the sum of both), and the rows of words the batch "
        "did not use stay as they are. A table suits a vocabulary whose ids recur in every batch; a table of the "
        "256**768 possible patches would almost never read the same row twice. A patch embedding's linear layer, by "
        "contrast, is updated by every patch.",
    ),
    "c": (
        False,
        "the lookup reads all six ids at once, and each of the six vectors comes from its own row. On which rows does "
        "the sum of the six vectors depend?",
    ),
    "d": (
        False,
        "picking a row is multiplying by a one-hot vector (the cell `one_hot @ W` above proves it), and that product "
        "has a derivative with respect to W. Which entries of W does it involve?",
    ),
}


@checker
def check_gradient_rows(answer) -> object:
    """Predict, then run: the table ``nn.Embedding(10, 8)`` reads the ids ``[1, 2, 3, 4, 5, 0]`` and the loss is the
    sum of the six vectors. Which rows of its weight get a nonzero gradient? One letter: ``"a"`` all 10, ``"b"``
    rows 0 to 5 (the ids used), ``"c"`` only row 0, ``"d"`` none."""
    return judge_choice(answer, _GRADIENT_ROWS)


def _indexes_a_float_table(args, kwargs) -> bool:
    return isinstance(args[0], torch.Tensor) and args[0].is_floating_point()


#: The routes that pick rows by index; the exercise asks for the one-hot product instead.
LOOKUP_SHORTCUTS = (
    Shortcut(
        "indexing of the table (weight[ids])",
        targets=(
            (torch.Tensor.__getitem__, _indexes_a_float_table),
            torch.Tensor.index_select,
            torch.index_select,
            torch.Tensor.gather,
            torch.gather,
            torch.Tensor.take,
            torch.take,
        ),
        names=("index_select", "gather", "take"),
    ),
    Shortcut(
        "an embedding layer (F.embedding or nn.Embedding)",
        targets=(F.embedding, F.embedding_bag, torch.embedding, nn.Embedding, nn.EmbeddingBag),
        names=("embedding", "Embedding", "embedding_bag", "EmbeddingBag"),
    ),
)


@checker
def check_lookup_as_matmul(answer) -> object:
    """``answer`` is a function ``lookup(ids, weight)`` that returns ``weight``'s rows for
    ``ids`` as ``one_hot(ids) @ weight``: ``(B, T) int, (V, D) -> (B, T, D)``."""
    if not callable(answer):
        return not_yet(f"answer must be a function lookup(ids, weight); got {type(answer).__name__}.")
    g = torch.Generator().manual_seed(0)
    vocab, dim = 11, 5
    weight = torch.randn(vocab, dim, generator=g)
    ids = torch.randint(0, vocab, (2, 7), generator=g)
    try:
        got, shortcut = run_by_hand(answer, (ids, weight), LOOKUP_SHORTCUTS)
    except RuntimeError as error:
        if "dtype" in str(error) or "Long" in str(error):
            return not_yet(
                "F.one_hot returns integers (int64) and weight is float: convert the one-hot tensor to weight's "
                f"dtype (.float()) before the product. (The error was: {error})"
            )
        if "cannot be multiplied" in str(error):
            return not_yet(
                f"the shapes do not fit: one_hot(ids, V) is (B, T, V) and weight is (V, D) = ({vocab}, {dim}); "
                f"the product needs the table as it is (not weight.T). (The error was: {error})"
            )
        raise
    problem = result_problem(got, "lookup", shortcut, task="pick the rows", tools="F.one_hot and a matrix product")
    if problem is not None:
        return problem
    if tuple(got.shape) != (2, 7, dim):
        return not_yet(
            f"for ids of shape (2, 7) and weight (V, D) = ({vocab}, {dim}) the result must be (2, 7, {dim}); "
            f"got {tuple(got.shape)}. one_hot(ids, V) has shape (2, 7, V), and (2, 7, V) @ (V, D) gives (2, 7, D)."
        )
    if not torch.allclose(got.float(), weight[ids], atol=1e-6):
        return not_yet(
            "the shape is right but the numbers differ from the table's rows for ids. "
            "The one-hot vectors need one entry per row of the table (the vocabulary size V), "
            "and the product uses the table as it is, not weight.T."
        )
    return correct("a one-hot vector times the table picks out one row: an embedding lookup is a linear map.")


@checker
def check_predicted_shape(answer) -> object:
    """Predict, then run: the shape of ``patchify(images, 8)`` for images of shape ``(2, 3, 32, 48)``,
    written down before the cell runs, as a tuple ``(B, N, D)``. A wrong prediction gets a hint on the entry that
    is off (the cell has just printed the shape, so the hint says why, not what)."""
    if isinstance(answer, torch.Size):
        answer = tuple(answer)
    if not isinstance(answer, (tuple, list)) or len(answer) != 3:
        return not_yet(f"give three whole numbers (B, N, D), like (1, 2, 3); got {answer!r}.")
    try:
        b, n, d = (whole(v, "each entry", example=2) for v in answer)
    except TypeError:
        return not_yet(f"give three whole numbers (B, N, D), like (1, 2, 3); got {answer!r}.")
    if (b, n, d) == (2, 24, 192):
        return correct("B = 2 images; N = (32/8)·(48/8) = 4·6 = 24 tokens; D = C·P·P = 3·8·8 = 192 numbers each.")
    hints = []
    if b != 2:
        hints.append("the batch B passes through unchanged")
    if n in (16, 36):
        hints.append(f"N = {n} would be a square image; this one is 32 high and 48 wide")
    elif n == 10:
        hints.append("N = 4 + 6 adds the grid's sides; the grid holds rows × columns patches")
    elif n != 24:
        hints.append("N counts the patches: (H/P) rows times (W/P) columns")
    if d == 64:
        hints.append("D = 64 is one channel; each token holds all 3 channels of its patch")
    elif d != 192:
        hints.append("D is the numbers per patch: C·P·P")
    return not_yet("; ".join(hints) + ". Compare with the shape printed above.")
