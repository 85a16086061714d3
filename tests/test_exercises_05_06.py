"""The checkers of notebook 06: right answers pass, typical wrong answers get the right hint."""

import pytest
from solutions_support import load_solutions

from vitlib.exercises import nb06

# (that every solution passes its checker is tests/test_solutions.py's job, for all notebooks)
s06 = load_solutions("06")


@pytest.mark.parametrize(
    ("answer", "hint"),
    [
        ("a", "not a parameter count"),
        ("b", "computed, not stored"),
        ("d", "one row per token"),
        (3, "one letter"),
        ("e", "one letter"),
    ],
)
def test_patch_size_params_explains_each_wrong_option(answer, hint):
    feedback = nb06.check_patch_size_params(answer)
    assert not feedback and hint in feedback.message, feedback.message


def test_patch_size_params_counts_are_the_models():
    """The right answer's message states the parts' counts; they are the presets' real counts."""
    from vitlib import ViT

    feedback = nb06.check_patch_size_params(s06.solution_patch_size_params())
    assert feedback
    counts = {}
    for preset in ("digits_p4", "digits"):
        model = ViT.from_preset(preset)
        counts[preset] = [sum(p.numel() for p in m.parameters()) for m in (model.patch_embed, model.blocks)]
        counts[preset].append(model.pos_embed.numel())
    assert counts["digits_p4"][1] == counts["digits"][1]  # the blocks do not depend on the patches
    assert counts["digits_p4"][0] == counts["digits"][2] and counts["digits_p4"][2] == counts["digits"][0]
    for value in (*counts["digits_p4"], *counts["digits"]):
        assert f"{value:,}" in feedback.message
