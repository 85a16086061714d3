"""Count code lines per module of vitlib: no docstrings, no comments, no blank lines (README, CONTRIBUTING).

    python tools/count_code.py            # every module, the core's total and its share of argument checks

A line is a *check* line when it belongs to a ``raise`` statement, to an ``if`` whose body only raises, or to a
statement that calls one of :mod:`vitlib.checks`'s functions (``checks.positive_int(...)``, or a name imported from
it). The core is the reference implementation a learner reads beside nanoGPT (CONTRIBUTING.md, "Core and harness").
"""

from __future__ import annotations

import ast
import io
import sys
import tokenize
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CORE = ("patches", "embedding", "attention", "encoder", "model")


def code_lines(source: str) -> set[int]:
    """Line numbers that hold code: not blank, not only a comment, not part of a docstring."""
    tree = ast.parse(source)
    docstrings: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if (
                isinstance(first, ast.Expr)
                and isinstance(first.value, ast.Constant)
                and isinstance(first.value.value, str)
            ):
                docstrings.update(range(first.lineno, first.end_lineno + 1))
    lines: set[int] = set()
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type in (tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT):
            continue
        if tok.type == tokenize.ENDMARKER:
            continue
        lines.update(range(tok.start[0], tok.end[0] + 1))
    return lines - docstrings


def _check_names(tree: ast.Module) -> set[str]:
    names = {"checks"}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.endswith("checks"):
            names.update(alias.asname or alias.name for alias in node.names)
    return names


def _calls_checks(node: ast.AST, names: set[str]) -> bool:
    for sub in ast.walk(node):
        if isinstance(sub, ast.Call):
            f = sub.func
            if isinstance(f, ast.Name) and f.id in names and f.id != "checks":
                return True
            if isinstance(f, ast.Attribute) and isinstance(f.value, ast.Name) and f.value.id == "checks":
                return True
    return False


def check_lines(source: str) -> set[int]:
    """Line numbers of argument checks (see the module docstring)."""
    tree = ast.parse(source)
    names = _check_names(tree)
    spans: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Raise):
            spans.update(range(node.lineno, node.end_lineno + 1))
        elif isinstance(node, ast.If) and all(isinstance(s, ast.Raise) for s in node.body) and not node.orelse:
            spans.update(range(node.lineno, node.end_lineno + 1))
        elif isinstance(node, (ast.Expr, ast.Assign, ast.AnnAssign, ast.Return)) and _calls_checks(node, names):
            spans.update(range(node.lineno, node.end_lineno + 1))
    return spans & code_lines(source)


def count(path: Path) -> tuple[int, int]:
    source = path.read_text()
    return len(code_lines(source)), len(check_lines(source))


def main() -> int:
    rows = []
    for path in sorted((ROOT / "vitlib").rglob("*.py")):
        code, checks = count(path)
        rows.append((str(path.relative_to(ROOT / "vitlib")).removesuffix(".py"), code, checks))
    width = max(len(name) for name, _, _ in rows)
    print(f"{'module':<{width}}  code  checks")
    for name, code, checks in rows:
        print(f"{name:<{width}}  {code:4d}  {checks:5d}")
    core = [(c, k) for name, c, k in rows if name in CORE]
    total, core_code, core_checks = sum(c for _, c, _ in rows), sum(c for c, _ in core), sum(k for _, k in core)
    print(f"\nvitlib: {total} code lines in {len(rows)} files")
    share = core_checks / core_code
    print(f"core ({', '.join(CORE)}): {core_code} code lines, {core_checks} of them checks ({share:.0%})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
