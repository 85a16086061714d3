"""Exercises that ask for something by hand refuse the library's shortcut, however it is reached.

One mechanism (``vitlib.exercises.run_by_hand``): the run is watched (Python functions by their code,
torch functions and Tensor methods through torch's function mode), then the code's names are read.
"""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from solutions_support import load_solutions
from torch import nn

import vitlib
from vitlib.exercises import Shortcut, code_names, nb00, nb01, run_by_hand
from vitlib.patches import patchify as imported_patchify


def _grid(x, p):
    b, c, h, w = x.shape
    return x.reshape(b, c, h // p, p, w // p, p)


def _nn_embedding(ids, w):
    return nn.Embedding.from_pretrained(w)(ids)


def _loop_of_rows(ids, w):
    return torch.stack([w[i] for i in ids.flatten()]).reshape(*ids.shape, w.shape[1])


def _index_select(ids, w):
    return w.index_select(0, ids.flatten()).reshape(*ids.shape, w.shape[1])


LOOKUPS = {
    "w[ids]": lambda ids, w: w[ids],
    "F.embedding": lambda ids, w: F.embedding(ids, w),
    "nn.Embedding": _nn_embedding,
    "a loop of w[i]": _loop_of_rows,
    "index_select": _index_select,
}


@pytest.mark.parametrize("lookup", LOOKUPS.values(), ids=LOOKUPS.keys())
def test_nb00_lookup_refuses_indexing_and_embedding_layers(lookup):
    verdict = nb00.check_lookup_as_matmul(lookup)
    assert not verdict.passed and "by hand" in verdict.message and "F.one_hot" in verdict.message


def _unfold_method(x, p):
    b, c = x.shape[:2]
    return x.unfold(2, p, p).unfold(3, p, p).permute(0, 2, 3, 1, 4, 5).reshape(b, -1, c * p * p)


def _patchify_in_a_helper(x, p):
    return _helper(x, p)


def _helper(x, p):
    return imported_patchify(x, p)


PATCHIFIES = {
    "vitlib.patchify": (lambda x, p: vitlib.patchify(x, p), "vitlib's patchify"),
    "patchify imported by name": (lambda x, p: imported_patchify(x, p), "vitlib's patchify"),
    "patchify in a helper": (_patchify_in_a_helper, "vitlib's patchify"),
    "F.unfold": (lambda x, p: F.unfold(x, p, stride=p).transpose(1, 2), "unfold"),
    "nn.Unfold": (lambda x, p: nn.Unfold(p, stride=p)(x).transpose(1, 2), "unfold"),
    "Tensor.unfold": (_unfold_method, "unfold"),
}


@pytest.mark.parametrize(("mine", "label"), PATCHIFIES.values(), ids=PATCHIFIES.keys())
def test_nb01_patchify_refuses_the_library_routes(mine, label):
    verdict = nb01.check_patchify(mine)
    assert not verdict.passed and label in verdict.message and "reshape and permute" in verdict.message


@pytest.mark.parametrize(
    ("notebook", "check", "exercise"),
    [
        ("00", nb00.check_lookup_as_matmul, "lookup_as_matmul"),
        ("01", nb01.check_patchify, "patchify"),
    ],
)
def test_the_solutions_are_by_hand(notebook, check, exercise):
    assert check(getattr(load_solutions(notebook), f"solution_{exercise}")()).passed


def test_a_shortcut_on_a_branch_not_taken_is_still_found_by_name():
    def mine(x, p):
        if x.shape[0] > 100:
            return F.unfold(x, p, stride=p).transpose(1, 2)
        return _grid(x, p).permute(0, 2, 4, 1, 3, 5).reshape(x.shape[0], -1, x.shape[1] * p * p)

    assert "unfold" in code_names(mine)
    assert not nb01.check_patchify(mine).passed


def test_a_helper_of_the_learners_own_may_share_a_shortcuts_name():
    namespace = {}
    exec(  # a notebook's cell: the learner's own patchify, called by my_patchify
        "def patchify(x, p):\n"
        "    b, c, h, w = x.shape\n"
        "    x = x.reshape(b, c, h // p, p, w // p, p).permute(0, 2, 4, 1, 3, 5)\n"
        "    return x.reshape(b, -1, c * p * p)\n"
        "def my_patchify(images, patch_size):\n"
        "    return patchify(images, patch_size)\n",
        namespace,
    )
    assert nb01.check_patchify(namespace["my_patchify"]).passed
    namespace = {"vitlib": vitlib}
    exec("def my_patchify(images, patch_size):\n    return vitlib.patchify(images, patch_size)\n", namespace)
    assert not nb01.check_patchify(namespace["my_patchify"]).passed


def test_run_by_hand_returns_the_result_and_restores_the_profiler():
    import sys

    before = sys.getprofile()
    result, used = run_by_hand(lambda a: a * 2, (torch.ones(2),), [Shortcut("x", targets=(torch.Tensor.unfold,))])
    assert used is None and torch.equal(result, torch.full((2,), 2.0))
    assert sys.getprofile() is before
    with pytest.raises(ZeroDivisionError):
        run_by_hand(lambda: 1 / 0, (), [])
    assert sys.getprofile() is before


# --- the one mechanism for judgement questions and predict-then-run (vitlib.exercises) ------------------------------


def test_judge_choice_reads_a_letter_loosely_and_explains_every_option():
    from vitlib.exercises import judge_choice, letter_answer

    options = {"a": (False, "not a: why"), "b": (True, "b: because"), "C": (False, "not C")}
    for given in ("b", " B ", "(b)", "'b'"):
        verdict = judge_choice(given, options)
        assert verdict and verdict.message == "b: because"
    wrong = judge_choice("c", options)
    assert not wrong and wrong.message == "not C" and letter_answer("c", options) == "C"
    for bad in ("e", 3, None, "ab"):
        verdict = judge_choice(bad, options)
        assert not verdict and "give one letter, 'a', 'b' or 'C'" in verdict.message


def test_reveal_runs_nothing_until_a_prediction_is_given():
    from vitlib.exercises import correct, reveal

    ran = []
    waiting = reveal(None, lambda: ran.append(1) or correct("shown"), ask="a number")
    assert not waiting and "first write your prediction (a number)" in waiting.message and not ran
    shown = reveal(3, lambda: ran.append(1) or correct("shown"), ask="a number")
    assert shown and shown.message == "shown" and ran == [1]


def test_result_problem_names_a_refused_shortcut_or_a_result_that_is_not_a_tensor():
    from vitlib.exercises import result_problem

    assert result_problem(torch.zeros(2), "f") is None
    not_tensor = result_problem([1, 2], "my_patchify")
    assert not not_tensor and not_tensor.message == "my_patchify must return a tensor; it returned list."
    refused = result_problem(torch.zeros(2), "f", "vitlib.patchify", task="cut the patches", tools="reshape only")
    assert not refused and "uses vitlib.patchify" in refused.message and "cut the patches by hand" in refused.message
