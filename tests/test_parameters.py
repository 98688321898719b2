"""No function in the jobs or ledger layers takes more than eight parameters.

A longer list is a record waiting to be named (a job's columns are one :class:`NewJob`, a table
row's stored values one ``StoredJob``): callers then build, pass and test one value instead of
threading a dozen keywords through every layer. ``self`` and ``cls`` do not count; ``*args``
and ``**kwargs`` count one each. Read from the source, so nested functions and lambdas count.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "apiframe_magic"
LAYERS = ("jobs", "ledger")
MOST = 8
# (file, function): why it may take more.
EXEMPT = {
    ("jobs/_expand.py", "expand"): "its parameters are the user's sweep axes",
}

Function = ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda


def counted(function: Function, in_class: bool) -> int:
    """How many parameters ``function`` takes, by the rule: a method's ``self`` or ``cls`` (its
    first parameter, unless it is a static method) does not count."""
    arguments = function.args
    count = len(arguments.posonlyargs) + len(arguments.args) + len(arguments.kwonlyargs)
    count += (arguments.vararg is not None) + (arguments.kwarg is not None)
    static = not isinstance(function, ast.Lambda) and any(
        isinstance(decorator, ast.Name) and decorator.id == "staticmethod"
        for decorator in function.decorator_list
    )
    if in_class and not static and (arguments.posonlyargs or arguments.args):
        count -= 1
    return count


def functions(node: ast.AST, in_class: bool = False) -> Iterator[tuple[Function, bool]]:
    """Every function defined in ``node``, each with whether it is a method (defined in a class
    body, under an ``if`` or not, rather than in a function of it)."""
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            yield child, in_class
            yield from functions(child)
        else:
            yield from functions(child, in_class or isinstance(child, ast.ClassDef))


def files(layer: str) -> list[Path]:
    return sorted((PACKAGE / layer).rglob("*.py"))


def name_of(function: Function) -> str:
    return "<lambda>" if isinstance(function, ast.Lambda) else function.name


@pytest.mark.parametrize("layer", LAYERS)
def test_no_function_takes_more_than_eight_parameters(layer: str) -> None:
    over = []
    for path in files(layer):
        where = path.relative_to(PACKAGE).as_posix()
        for function, in_class in functions(ast.parse(path.read_text(encoding="utf-8"))):
            count = counted(function, in_class)
            if count > MOST and (where, name_of(function)) not in EXEMPT:
                over.append(f"{where}:{function.lineno} {name_of(function)} takes {count}")
    assert not over, f"more than {MOST} parameters (pass a record instead): {over}"


def test_every_exemption_names_a_function_that_exists() -> None:
    for where, name in EXEMPT:
        tree = ast.parse((PACKAGE / where).read_text(encoding="utf-8"))
        assert name in {name_of(function) for function, _ in functions(tree)}, f"{where} has no {name}"


def test_the_count_follows_the_rule() -> None:
    source = """
def free(a, b, /, c, *args, d, **kwargs): ...
class Box:
    def method(self, a, b): ...
    @classmethod
    def make(cls, a): ...
    @staticmethod
    def helper(a, b): ...
    def nested(self):
        def inner(x, y, z): ...
        return lambda p, q: p
    if True:
        def guarded(self, a): ...
if True:
    def hidden(a, b, c): ...
"""
    counts = {name_of(f): counted(f, in_class) for f, in_class in functions(ast.parse(source))}
    assert counts == {"free": 6, "method": 2, "make": 1, "helper": 2, "nested": 0, "inner": 3,
                      "<lambda>": 2, "guarded": 1, "hidden": 3}
