"""Checkers for notebook 03, *the [CLS] token*."""

from __future__ import annotations

import torch

from . import checker, correct, not_yet

__all__ = ["check_add_cls", "check_mean_pool"]


@checker
def check_add_cls(answer) -> object:
    """``answer`` is your function ``add_cls(tokens, cls_token)``:
    ``(B, N, D), (1, 1, D) -> (B, N+1, D)``, [CLS] first, for any batch size."""
    if not callable(answer):
        return not_yet(f"answer must be a function add_cls(tokens, cls_token); got {type(answer).__name__}.")
    g = torch.Generator().manual_seed(0)
    for b, n, d in ((1, 4, 8), (3, 5, 6), (7, 2, 4)):
        tokens = torch.randn(b, n, d, generator=g)
        cls_token = torch.randn(1, 1, d, generator=g, requires_grad=True)
        try:
            got = answer(tokens, cls_token)
        except NameError as error:
            return not_yet(f"{error}: read the batch size from the tokens, tokens.shape[0], as the notebook does.")
        if not isinstance(got, torch.Tensor):
            return not_yet(f"add_cls must return a tensor; it returned {type(got).__name__}.")
        if got.shape != (b, n + 1, d):
            return not_yet(
                f"for tokens of shape {(b, n, d)} the result must be (B, N+1, D) = {(b, n + 1, d)}; "
                f"got {tuple(got.shape)}. Expand [CLS] to (B, 1, D) and concatenate along dim=1."
            )
        if torch.equal(got[:, -1:], cls_token.detach().expand(b, 1, d)) and torch.equal(got[:, :-1], tokens):
            return not_yet("[CLS] is at the end; it goes first (position 0), which is where the head reads it.")
        if not (torch.equal(got[:, :1], cls_token.detach().expand(b, 1, d)) and torch.equal(got[:, 1:], tokens)):
            return not_yet("the shape is right but the numbers are not: row 0 must be cls_token, rows 1.. the tokens.")
        if not got.requires_grad:
            return not_yet(
                "the result does not depend on cls_token for autograd (did you use .data or a copy?); "
                "[CLS] must stay a learnable parameter: use cls_token.expand(B, -1, -1)."
            )
    return correct("[CLS] first, for batches of 1, 3 and 7, and gradients reach the parameter.")


@checker
def check_mean_pool(answer) -> object:
    """``answer`` is your function ``mean_pool(tokens)``: the average of the patch tokens of
    ``(B, N+1, D)`` tokens whose row 0 is [CLS], ``-> (B, D)``."""
    if not callable(answer):
        return not_yet(f"answer must be a function mean_pool(tokens); got {type(answer).__name__}.")
    g = torch.Generator().manual_seed(1)
    tokens = torch.randn(3, 5, 6, generator=g)
    tokens[:, 0] += 10.0  # a [CLS] row unlike the others, so including it shows
    got = answer(tokens)
    if not isinstance(got, torch.Tensor):
        return not_yet(f"mean_pool must return a tensor; it returned {type(got).__name__}.")
    if got.shape != (3, 6):
        return not_yet(
            f"for tokens (B, N+1, D) = (3, 5, 6) the result must be (B, D) = (3, 6); got {tuple(got.shape)}. "
            "Average over the token axis, dim=1."
        )
    if torch.allclose(got, tokens.mean(dim=1)):
        return not_yet("that averages [CLS] in as well; mean pooling averages the patch tokens only: leave row 0 out.")
    if torch.allclose(got, tokens[:, 1:].mean(dim=1)):
        return correct("the mean of the N patch tokens, [CLS] left out: (B, N+1, D) -> (B, D).")
    return not_yet(
        "the shape is right but the numbers are not: average the patch tokens (rows 1 to N) over the token axis."
    )
