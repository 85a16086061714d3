"""The checkers of notebooks 00 and 01: right answers pass, typical mistakes get the matching hint."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from vitlib.exercises import nb00, nb01


def _grid(x, p):
    b, c, h, w = x.shape
    return x.reshape(b, c, h // p, p, w // p, p)


# --- nb00 ----------------------------------------------------------------------------


def test_gradient_rows_only_b_passes_and_every_option_explains():
    verdicts = {letter: nb00.check_gradient_rows(letter) for letter in "abcd"}
    assert [letter for letter, v in verdicts.items() if v.passed] == ["b"]
    assert all(len(v.message) > 40 for v in verdicts.values())
    assert "one_hot" in verdicts["a"].message and "one-hot" in verdicts["d"].message
    assert nb00.check_gradient_rows(" (B) ").passed  # case, spaces and brackets forgiven


def test_gradient_rows_matches_what_autograd_does():
    # the answer the checker accepts is what backward() gives: rows of the ids read, and only those
    table = torch.nn.Embedding(10, 8)
    ids = torch.tensor([[1, 2, 3, 4, 5, 0]])
    table(ids).sum().backward()
    rows = (table.weight.grad != 0).any(dim=1).nonzero().flatten().tolist()
    assert rows == [0, 1, 2, 3, 4, 5]


def test_gradient_rows_not_a_letter():
    verdict = nb00.check_gradient_rows(2)
    assert not verdict.passed and "one letter" in verdict.message


def test_lookup_as_matmul():
    assert nb00.check_lookup_as_matmul(lambda ids, w: F.one_hot(ids, w.shape[0]).float() @ w).passed


def test_lookup_forgetting_float_gets_the_dtype_hint():
    verdict = nb00.check_lookup_as_matmul(lambda ids, w: F.one_hot(ids, w.shape[0]) @ w)
    assert not verdict.passed and ".float()" in verdict.message


def test_lookup_with_the_transposed_table_gets_the_shape_hint():
    verdict = nb00.check_lookup_as_matmul(lambda ids, w: F.one_hot(ids, w.shape[0]).float() @ w.T)
    assert not verdict.passed and "not weight.T" in verdict.message


def test_lookup_with_the_wrong_rows():
    verdict = nb00.check_lookup_as_matmul(lambda ids, w: F.one_hot((ids + 1) % w.shape[0], w.shape[0]).float() @ w)
    assert not verdict.passed and "numbers differ" in verdict.message


def test_lookup_not_a_function():
    verdict = nb00.check_lookup_as_matmul(torch.zeros(3))
    assert not verdict.passed and "function" in verdict.message


# --- nb01 ----------------------------------------------------------------------------


def test_patchify_right():
    def mine(x, p):
        return _grid(x, p).permute(0, 2, 4, 1, 3, 5).reshape(x.shape[0], -1, x.shape[1] * p * p)

    assert nb01.check_patchify(mine).passed


def test_patchify_channels_last_hint():
    def mine(x, p):
        return _grid(x, p).permute(0, 2, 4, 3, 5, 1).reshape(x.shape[0], -1, x.shape[1] * p * p)

    verdict = nb01.check_patchify(mine)
    assert not verdict.passed and "(P, P, C)" in verdict.message


def test_patchify_column_major_hint():
    def mine(x, p):
        return _grid(x, p).permute(0, 4, 2, 1, 3, 5).reshape(x.shape[0], -1, x.shape[1] * p * p)

    verdict = nb01.check_patchify(mine)
    assert not verdict.passed and "row-major" in verdict.message


def test_patchify_view_after_permute_hint():
    def mine(x, p):
        return _grid(x, p).permute(0, 2, 4, 1, 3, 5).view(x.shape[0], -1, x.shape[1] * p * p)

    verdict = nb01.check_patchify(mine)
    assert not verdict.passed and "contiguous() before view" in verdict.message


def test_patchify_hard_coded_example_hint():
    verdict = nb01.check_patchify(lambda x, p: torch.zeros(1, 4, 768))
    assert not verdict.passed and "(B, N, C*P*P) = (2, 6, 48)" in verdict.message


def test_patchify_view_hint_has_no_double_period_and_no_hard_coding_advice():
    def mine(x, p):
        return _grid(x, p).permute(0, 2, 4, 1, 3, 5).view(x.shape[0], -1, x.shape[1] * p * p)

    message = nb01.check_patchify(mine).message
    assert ".." not in message.replace("(...)", "") and "hard-cod" not in message


def test_patchify_transposed_patches():
    def mine(x, p):
        return _grid(x, p).permute(0, 2, 4, 1, 5, 3).reshape(x.shape[0], -1, x.shape[1] * p * p)

    verdict = nb01.check_patchify(mine)
    assert not verdict.passed and "each patch comes out transposed" in verdict.message
    assert "x[" not in verdict.message  # no undefined name in the hint


def test_patchify_other_wrong_numbers_get_the_compare_one_patch_hint():
    def mine(x, p):
        return _grid(x, p).permute(0, 2, 4, 1, 3, 5).reshape(x.shape[0], -1, x.shape[1] * p * p).flip(-1)

    verdict = nb01.check_patchify(mine)
    assert not verdict.passed and "Compare a single patch" in verdict.message and "images[0" in verdict.message


def test_same_tokens_only_b_passes_and_every_option_explains():
    verdicts = {letter: nb01.check_same_tokens(letter) for letter in "abcd"}
    assert [letter for letter, v in verdicts.items() if v.passed] == ["b"]
    assert "last* axis" in verdicts["a"].message and "F.unfold" in verdicts["c"].message
    assert "trade places" in verdicts["d"].message
    assert "one letter" in nb01.check_same_tokens(22).message


def test_same_tokens_matches_what_torch_does():
    # the four changes of the exercise, run: only "b" gives vitlib.patchify's tokens
    import vitlib

    img = torch.randn(1, 3, 32, 32)
    seed = img.unfold(2, 16, 16).unfold(3, 16, 16)
    changes = {
        "a": img.unfold(3, 16, 16).unfold(2, 16, 16).permute(0, 2, 3, 1, 4, 5).reshape(1, 4, -1),
        "b": seed.permute(0, 2, 3, 1, 4, 5).reshape(1, 4, -1),
        "c": F.unfold(img, 16, stride=16),
        "d": seed.permute(0, 3, 2, 1, 4, 5).reshape(1, 4, -1),
    }
    want = vitlib.patchify(img, 16)
    same = [k for k, t in changes.items() if t.shape == want.shape and torch.equal(t, want)]
    assert same == ["b"] and changes["a"].shape == changes["d"].shape == want.shape


def test_predicted_shape():
    import vitlib

    assert tuple(vitlib.patchify(torch.zeros(2, 3, 32, 48), 8).shape) == (2, 24, 192)  # the cell the learner runs
    assert nb00.check_predicted_shape((2, 24, 192)).passed
    assert nb00.check_predicted_shape(torch.Size([2, 24, 192])).passed
    assert nb00.check_predicted_shape((torch.tensor(2), 24, 192)).passed
    verdict = nb00.check_predicted_shape((2, 16, 64))
    assert not verdict.passed and "square image" in verdict.message and "one channel" in verdict.message
    assert "rows × columns" in nb00.check_predicted_shape((2, 10, 192)).message
    assert "three whole numbers" in nb00.check_predicted_shape((2, 24)).message


def test_permute_fix_finds_the_bug():
    x = torch.randn(2, 3, 8, 12)
    buggy = _grid(x, 4).permute(0, 2, 4, 1, 5, 3).reshape(2, -1, 48)
    import vitlib

    assert buggy.shape == vitlib.patchify(x, 4).shape and not torch.equal(buggy, vitlib.patchify(x, 4))  # the bug
    fixed = _grid(x, 4).permute(0, 2, 4, 1, 3, 5).reshape(2, -1, 48)
    assert torch.equal(fixed, vitlib.patchify(x, 4))
    assert nb01.check_permute_fix((0, 2, 4, 1, 3, 5)).passed
    assert nb01.check_permute_fix([0, 2, 4, 1, 3, 5]).passed
    assert "buggy order itself" in nb01.check_permute_fix((0, 2, 4, 1, 5, 3)).message
    assert "down the columns" in nb01.check_permute_fix((0, 4, 2, 1, 3, 5)).message
    assert "channel axis" in nb01.check_permute_fix((0, 2, 4, 3, 5, 1)).message
    assert "exactly once" in nb01.check_permute_fix((0, 2, 4, 1, 3, 3)).message


def test_whole_numbers_may_be_integer_scalars_everywhere():
    import numpy as np

    assert nb00.check_predicted_shape((torch.tensor(2), np.int64(24), 192)).passed
    assert "three whole numbers" in nb00.check_predicted_shape((2.0, 24, 192)).message
