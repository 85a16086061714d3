"""Checkers for notebook 03, *the [CLS] token*: ``check_head_before_attention`` (predict, then run: a classifier
on [CLS] before any attention) and ``check_batch_dimension`` (predict, then run: a [CLS] parameter with a batch
dimension)."""

from __future__ import annotations

from . import checker, judge_choice

__all__ = ["check_batch_dimension", "check_head_before_attention"]


_HEAD_BEFORE_ATTENTION = {
    "a": (
        False,
        "[CLS] is learned, but it is one vector for all images, and before attention nothing of the patches has "
        "reached it. What does the head see for two different images?",
    ),
    "b": (
        True,
        "before attention, row 0 is the parameter itself, the same for every image (the cell printed it), so the "
        "head gives every image the same logits: on 10 balanced classes that is 10 %, the score of always answering "
        "one class. The gradient reaches cls_token and the head, but none reaches patch_embed (all zeros): nothing "
        "of the image is on that path. [CLS] collects the image only through attention, which is why the "
        "classifier reads it after the encoder.",
    ),
    "c": (
        False,
        "follow the gradient: the loss depends on row 0 only, and row 0 is cls_token itself. Does any path lead from "
        "it back to patch_embed? The cell prints the gradient that patch_embed gets.",
    ),
    "d": (
        False,
        "it trains: the head's input is cls_token, so the gradient reaches cls_token and the head (the cell prints "
        "it). What it cannot do is tell the images apart: what does the head see for two different images?",
    ),
}


@checker
def check_head_before_attention(answer) -> object:
    """Predict, then run: a classifier on the [CLS] row of ``prepend_cls_token(patch_embed(images), cls_token)``,
    with no attention in between, trained on 10 balanced classes. One letter: ``"a"`` about a ViT's accuracy,
    ``"b"`` chance (10 %), ``"c"`` better than chance through patch_embed, ``"d"`` it cannot train."""
    return judge_choice(answer, _HEAD_BEFORE_ATTENTION)


_BATCH_DIMENSION = {
    "a": (
        False,
        "broadcasting stretches a dimension of size 1, never 32 down to 10, and torch.cat does not broadcast at "
        "all. What must agree between the tensors that torch.cat joins along dim=1?",
    ),
    "b": (
        True,
        "torch.cat joins along dim=1 and needs every other dimension equal: 32 against 10 raises. And even at 32 "
        "the model is wrong: each batch position learns its own token from the images that happen to land there. "
        "One (1, 1, D) parameter and cls.expand(x.shape[0], -1, -1) fit any batch and share one token.",
    ),
    "c": (
        False,
        "nothing in torch.cat picks the first 10: it needs every dimension but dim=1 to agree. What happens when "
        "they do not?",
    ),
    "d": (
        False,
        "a parameter is a tensor of fixed shape, (32, 1, D) here; only a view such as expand adapts to the batch. "
        "What does torch.cat do with 32 against 10?",
    ),
}


@checker
def check_batch_dimension(answer) -> object:
    """Predict, then run: ``cls = nn.Parameter(torch.zeros(32, 1, D))`` and ``torch.cat([cls, tokens], dim=1)``,
    on a batch of 10 images. One letter: ``"a"`` it broadcasts, ``"b"`` it raises, ``"c"`` it uses the first 10
    tokens, ``"d"`` the parameter adapts."""
    return judge_choice(answer, _BATCH_DIMENSION)
