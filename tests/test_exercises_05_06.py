"""The checkers of notebook 06: right answers pass, typical wrong answers get the right hint."""

import pytest
from solutions_support import load_solutions

from vitlib.exercises import nb06

# (that every solution passes its checker is tests/test_solutions.py's job, for all notebooks)
s06 = load_solutions("06")


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
