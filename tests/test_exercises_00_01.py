"""The checkers of notebooks 00 and 01: right answers pass, typical mistakes get the matching hint."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from vitlib.exercises import nb00, nb01


def _grid(x, p):
    b, c, h, w = x.shape
    return x.reshape(b, c, h // p, p, w // p, p)


# --- nb00 ----------------------------------------------------------------------------


def test_num_tokens():
    assert nb00.check_num_tokens((196, 768)).passed
    assert nb00.check_num_tokens([196, 768]).passed


def test_num_tokens_patches_per_side_and_one_channel():
    verdict = nb00.check_num_tokens((14, 256))
    assert not verdict.passed
    assert "14 × 14" in verdict.message and "3 channels" in verdict.message


def test_num_tokens_not_a_pair():
    verdict = nb00.check_num_tokens(196)
    assert not verdict.passed and "pair (N, D)" in verdict.message


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
    assert not verdict.passed and "hard-code" in verdict.message


def test_patchify_transposed_patches():
    def mine(x, p):
        return _grid(x, p).permute(0, 2, 4, 1, 5, 3).reshape(x.shape[0], -1, x.shape[1] * p * p)

    verdict = nb01.check_patchify(mine)
    assert not verdict.passed and "compare a single patch" in verdict.message


def test_token_index():
    assert nb01.check_token_index(22).passed
    assert "down the columns" in nb01.check_token_index(26).message
    assert "start at 0" in nb01.check_token_index(23).message
    assert "(row, column)" in nb01.check_token_index((2, 6)).message
    assert "whole number" in nb01.check_token_index(22.0).message


def test_valid_patch_sizes():
    assert nb01.check_valid_patch_sizes([1, 2, 4, 8, 16, 32]).passed
    assert nb01.check_valid_patch_sizes((32, 16, 8, 4, 2, 1)).passed
    verdict = nb01.check_valid_patch_sizes([1, 2, 3, 4, 8, 16, 32])
    assert not verdict.passed and "3 does not divide 160" in verdict.message
    verdict = nb01.check_valid_patch_sizes([2, 4, 8, 16])
    assert not verdict.passed and "2 size(s) that work are missing" in verdict.message
