"""Instant checkers for the "Your turn" exercises.

Each notebook's exercises live in ``vitlib/exercises/nbNN.py``; a checker
takes the learner's answer and returns a :class:`Feedback` that renders as
one clear line (never an exception, so a notebook keeps running)::

    from vitlib.exercises import nb01
    nb01.check_num_patches(answer)      # -> "✅ Correct: ..." or "❌ Not yet: ..."

Solutions for instructors are in the repository's ``solutions/`` folder, not
here, so that reading the checker does not spoil the exercise.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

__all__ = ["Feedback", "checker", "correct", "not_yet"]


@dataclass(frozen=True)
class Feedback:
    """The verdict on one answer: ``passed`` and a message for the learner."""

    passed: bool
    message: str

    def __repr__(self) -> str:
        return ("✅ Correct: " if self.passed else "❌ Not yet: ") + self.message

    def __bool__(self) -> bool:
        return self.passed

    def _repr_markdown_(self) -> str:
        return ("✅ **Correct:** " if self.passed else "❌ **Not yet:** ") + self.message


def correct(message: str) -> Feedback:
    return Feedback(True, message)


def not_yet(message: str) -> Feedback:
    return Feedback(False, message)


def checker(func):
    """Wrap a check so that ``None`` (not answered yet) and any error in the
    learner's answer become a :class:`Feedback` instead of an exception."""

    @functools.wraps(func)
    def wrapped(answer, *args, **kwargs) -> Feedback:
        if answer is None or answer is Ellipsis:
            return not_yet("no answer yet. Replace the `None` (or `...`) in the cell above with your answer.")
        try:
            return func(answer, *args, **kwargs)
        except Exception as error:  # the learner's answer broke the check: say how
            return not_yet(f"checking your answer raised {type(error).__name__}: {error}")

    return wrapped
