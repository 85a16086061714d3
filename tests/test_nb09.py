"""Notebook 09's exercise checkers: the solutions pass, wrong answers get hints, shortcuts are refused."""

import pytest
import torch
from solutions_support import load_solutions

import vitlib
from vitlib.exercises import nb09


def _solutions():
    return load_solutions("09")


def test_token_prediction_passes_and_wrong_guesses_get_hints():
    assert nb09.check_tokens_at_384(_solutions().solution_tokens_at_384()).passed
    assert nb09.check_tokens_at_384(577).passed
    for wrong, hint in [(576, "[CLS]"), (197, "224 px"), (24, "24 x 24"), (9216, "per side"), (100, "squared")]:
        verdict = nb09.check_tokens_at_384(wrong)
        assert not verdict.passed and hint in verdict.message, (wrong, verdict)
    assert "whole number" in nb09.check_tokens_at_384(577.0).message
    assert "whole number" in nb09.check_tokens_at_384(True).message


def test_the_token_count_is_what_the_model_reads():
    with torch.device("meta"):
        model = vitlib.ViT.from_preset("vit_large_patch16_224", image_size=384)
    assert model.pos_embed.shape[1] == _solutions().solution_tokens_at_384()


@pytest.mark.parametrize(
    ("preset", "case"), [("vit_base_patch16_224", (12, 768, 16)), ("vit_huge_patch14_224", (32, 1280, 14))]
)
def test_the_formula_agrees_with_the_model(preset, case):
    with torch.device("meta"):
        model = vitlib.ViT.from_preset(preset)
    assert _solutions().solution_vit_params()(*case) == sum(p.numel() for p in model.parameters())


def test_param_formula_passes_and_partial_formulas_get_hints():
    solve = _solutions().solution_vit_params()
    assert nb09.check_vit_params(solve).passed

    def blocks_only(depth, dim, patch):
        return depth * (12 * dim * dim + 13 * dim)

    def no_head(depth, dim, patch):
        return solve(depth, dim, patch) - 1000 * dim - 1000

    def no_positions(depth, dim, patch):
        return solve(depth, dim, patch) - ((224 // patch) ** 2 + 1) * dim

    for wrong, hint in [(blocks_only, "blocks alone"), (no_head, "head"), (no_positions, "position table")]:
        verdict = nb09.check_vit_params(wrong)
        assert not verdict.passed and hint in verdict.message, verdict
    assert "function" in nb09.check_vit_params(86_000_000).message
    assert "returns None" in nb09.check_vit_params(lambda depth, dim, patch: None).message


def test_param_formula_refuses_building_a_model():
    def shortcut(depth, dim, patch):
        with torch.device("meta"):
            model = vitlib.ViT(embed_dim=dim, depth=depth, num_heads=1 if dim % 3 else 3, patch_size=patch)
        return sum(p.numel() for p in model.parameters())

    verdict = nb09.check_vit_params(shortcut)
    assert not verdict.passed and "formula" in verdict.message


def test_a_broken_answer_is_a_not_yet():
    def broken(depth, dim, patch):
        raise ZeroDivisionError("oops")

    verdict = nb09.check_vit_params(broken)
    assert not verdict.passed and "ZeroDivisionError" in verdict.message


def test_param_formula_hints_first_and_gives_the_formula_only_after_a_second_wrong_try(monkeypatch):
    """Issue 25: the first wrong total gets a hint; the whole formula comes only with a different, second one."""
    monkeypatch.setattr(nb09, "_WRONG_TRIES", set())
    first = nb09.check_vit_params(lambda depth, dim, patch: 1_000_000)
    assert not first.passed and "List the parts" in first.message and "12·D²" not in first.message
    again = nb09.check_vit_params(lambda depth, dim, patch: 1_000_000)  # the same wrong answer: still the hint
    assert "List the parts" in again.message and "12·D²" not in again.message
    second = nb09.check_vit_params(lambda depth, dim, patch: 2_000_000)
    assert not second.passed and "per block 12·D² + 13·D" in second.message
