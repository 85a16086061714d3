"""Instant checkers for the "Your turn" exercises.

Each notebook's exercises live in ``vitlib/exercises/nbNN.py``; a checker
takes the learner's answer and returns a :class:`Feedback` that renders as
one clear line (never an exception, so a notebook keeps running)::

    from vitlib.exercises import nb01
    nb01.check_num_patches(answer)      # -> "✅ Correct: ..." or "❌ Not yet: ..."

Solutions for instructors are in the repository's ``solutions/`` folder, not
here, so that reading the checker does not spoil the exercise.

Where an exercise asks for something *by hand*, its checker runs the learner's
function through :func:`run_by_hand`, which refuses the library shortcut that
would do the job (``vitlib.patchify``, ``F.scaled_dot_product_attention``, ...)
with a kind message. One mechanism for every notebook: a look at the names in
the function's code, then a run that watches every call (Python functions by
their code object, torch functions and ``Tensor`` methods through torch's
function mode), so a shortcut is found however it was imported.
"""

from __future__ import annotations

import functools
import inspect
import sys
import types
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import torch
from torch.overrides import TorchFunctionMode

from ..checks import whole

__all__ = [
    "Feedback",
    "Shortcut",
    "by_hand_message",
    "checker",
    "code_names",
    "correct",
    "not_yet",
    "reveal",
    "run_by_hand",
    "sentence",
]


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


def whole_answer(answer) -> int | None:
    """``answer`` as an int when it is a whole number (an int, a numpy integer, a 0-d integer tensor), else None:
    checkers answer "give one whole number" instead of raising (the test is :func:`vitlib.checks.whole`)."""
    try:
        return whole(answer, "answer")
    except (TypeError, ValueError):
        return None


def result_problem(got, name: str, shortcut: str | None = None, *, task: str = "", tools: str = "") -> Feedback | None:
    """The first problem with what the learner's function ``name`` returned, or None: a library shortcut it used
    (``shortcut``, from :func:`run_by_hand`; ``task`` and ``tools`` say what the exercise asks instead), or a result
    that is not a tensor."""
    if shortcut:
        return not_yet(by_hand_message(shortcut, task, tools))
    if not isinstance(got, torch.Tensor):
        return not_yet(f"{name} must return a tensor; it returned {type(got).__name__}.")
    return None


def letter_answer(answer, options) -> str | None:
    """``answer`` as one of the letters of ``options`` (case, spaces, brackets and quotes ignored), or None."""
    if not isinstance(answer, str):
        return None
    given = answer.strip().strip("()\"'").strip().lower()
    return next((letter for letter in options if letter.lower() == given), None)


def judge_choice(answer, options: dict[str, tuple[bool, str]]) -> Feedback:
    """A judgement question answered with one letter: ``options`` maps each letter to ``(right, explanation)``,
    and every answer, right or wrong, gets its own explanation."""
    letter = letter_answer(answer, options)
    if letter is None:
        *first, last = [f"'{k}'" for k in options]
        return not_yet(f"give one letter, {', '.join(first)} or {last}; got {answer!r}.")
    passed, message = options[letter]
    return (correct if passed else not_yet)(message)


def reveal(prediction, run: Callable[[], object], *, ask: str) -> object:
    """Predict, then run: ``run()`` is called, and what it returns is shown, only once ``prediction`` is given.

    Until then a :class:`Feedback` says what to predict (``ask``), so neither "Run All" nor the committed
    notebook shows the answer before the learner has written a prediction. ``run`` usually computes the
    revealing result and returns a checker's verdict on the prediction with it.
    """
    if prediction is None or prediction is Ellipsis:
        return not_yet(
            f"first write your prediction ({ask}) in place of the `None` above, then run this cell again: "
            "it runs the experiment and compares."
        )
    return run()


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


@dataclass(frozen=True)
class Shortcut:
    """A library route that an exercise asks the learner *not* to take.

    ``label`` is what the learner reads (``"vitlib.patchify"``); ``targets`` are the objects that
    betray it when called: Python functions, classes or modules (every function they define is
    watched), torch functions and ``Tensor`` methods (seen through torch's function mode), or a
    pair ``(torch_function, when)`` with ``when(args, kwargs) -> bool`` to refuse only some calls;
    ``names`` are attribute or global names that must not appear in the learner's code.
    """

    label: str
    targets: tuple = ()
    names: tuple[str, ...] = ()


def code_names(fn: Callable, depth: int = 3) -> set[str]:
    """The global and attribute names that ``fn``'s code uses (``fn.__code__.co_names``), with
    those of its nested functions and, ``depth`` levels deep, of the helper functions it reaches
    through its globals or closure that were written next to it (same module: the notebook).
    A callable object is read through its class's ``__call__``."""
    if isinstance(fn, types.MethodType):
        fn = fn.__func__
    if not isinstance(fn, types.FunctionType) and callable(fn):
        fn = type(fn).__call__
    if not isinstance(fn, types.FunctionType):
        return set()
    home = fn.__globals__
    seen: set[int] = set()
    names: set[str] = set()

    def visit(func: types.FunctionType, level: int) -> None:
        if id(func) in seen or level < 0:
            return
        seen.add(id(func))
        helpers = [cell.cell_contents for cell in func.__closure__ or () if _filled(cell)]
        codes = [func.__code__]
        while codes:
            code = codes.pop()
            names.update(code.co_names)
            codes.extend(c for c in code.co_consts if isinstance(c, types.CodeType))
            helpers.extend(func.__globals__.get(name) for name in code.co_names)
        for helper in helpers:
            if isinstance(helper, types.FunctionType) and helper.__globals__ is home:
                visit(helper, level - 1)

    visit(fn, depth)
    return names


def _filled(cell) -> bool:
    try:
        _ = cell.cell_contents
    except ValueError:  # an empty cell
        return False
    return True


def _codes(obj) -> set:
    """The code objects of a function, of a class's methods, or of every function a module defines."""
    if isinstance(obj, types.ModuleType):
        members = [m for m in vars(obj).values() if getattr(m, "__module__", None) == obj.__name__]
        return set().union(*(_codes(m) for m in members)) if members else set()
    if isinstance(obj, type):
        return set().union(*(_codes(m) for m in vars(obj).values())) if vars(obj) else set()
    if isinstance(obj, (staticmethod, classmethod)):
        obj = obj.__func__
    if isinstance(obj, property):
        return set().union(*(_codes(f) for f in (obj.fget, obj.fset) if f is not None))
    if isinstance(obj, types.FunctionType):  # the function's own code: a decorator's wrapper may be shared
        return {inspect.unwrap(obj).__code__}
    return set()


class _Watch(TorchFunctionMode):
    """Record which shortcuts a run calls: torch functions here, Python functions by a profile hook."""

    def __init__(self, shortcuts: Iterable[Shortcut]):
        super().__init__()
        self.used: list[str] = []
        self.torch_targets: list[tuple[object, Callable | None, str]] = []
        self.codes: dict[object, str] = {}
        for shortcut in shortcuts:
            for target in shortcut.targets:
                target, when = target if isinstance(target, tuple) else (target, None)
                python = _codes(target)
                if python:
                    self.codes.update(dict.fromkeys(python, shortcut.label))
                else:
                    self.torch_targets.append((target, when, shortcut.label))

    def _saw(self, label: str) -> None:
        if label not in self.used:
            self.used.append(label)

    def __torch_function__(self, func, types_, args=(), kwargs=None):
        kwargs = kwargs or {}
        for target, when, label in self.torch_targets:
            if func is target and (when is None or when(args, kwargs)):
                self._saw(label)
        return func(*args, **kwargs)

    def profile(self, frame, event, arg) -> None:
        if event == "call" and frame.f_code in self.codes:
            self._saw(self.codes[frame.f_code])


def run_by_hand(fn: Callable, args: tuple, shortcuts: Iterable[Shortcut]) -> tuple[object, str | None]:
    """Run ``fn(*args)`` and say which shortcut, if any, it took: ``(result, None)`` or ``(None, label)``.

    First the run itself, watched; then the names in ``fn``'s code (:func:`code_names`), so that a
    shortcut on a branch the run did not take is found too. The checker turns a label into a kind
    "by hand, please" message (:func:`by_hand_message`).
    """
    shortcuts = tuple(shortcuts)
    watch = _Watch(shortcuts)
    previous = sys.getprofile()
    sys.setprofile(watch.profile)
    try:
        with watch:
            result = fn(*args)
    finally:
        sys.setprofile(previous)
    if watch.used:
        return None, watch.used[0]
    names = {name for name in code_names(fn) if not _own_helper(fn, name)}
    for shortcut in shortcuts:
        if names.intersection(shortcut.names):
            return None, shortcut.label
    return result, None


def _own_helper(fn: Callable, name: str) -> bool:
    """Whether ``name`` is a function the learner wrote next to ``fn`` (e.g. their own ``patchify``):
    its code is read anyway, so its name alone is no shortcut."""
    home = getattr(inspect.unwrap(fn), "__globals__", {}) if callable(fn) else {}
    helper = home.get(name)
    return isinstance(helper, types.FunctionType) and helper.__globals__ is home


def sentence(text: object) -> str:
    """``text`` (e.g. an error message) ending with exactly one full stop, to quote inside a hint."""
    text = str(text).strip()
    return text if text.endswith((".", "!", "?")) else text + "."


def by_hand_message(label: str, task: str, tools: str) -> str:
    """The one wording for a refused shortcut: what was used, what the exercise asks, which tools."""
    return (
        f"your function uses {label}: that does the whole job for you. It is the right tool after this "
        f"notebook, but this exercise asks you to {task} by hand, with {tools} only."
    )
