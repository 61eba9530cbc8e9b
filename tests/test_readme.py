"""The README's Python snippets run as written when pasted alone.

Every ```python block is checked statically: each name it reads is imported or assigned in the
same block (or is a builtin). The quick blocks are also run, each in a new interpreter; a block
preceded by `<!-- readme-snippet: static (why) -->` is only checked statically.
"""

import ast
import builtins
import pathlib
import re
import subprocess
import sys

import pytest

README = pathlib.Path(__file__).resolve().parents[1] / "README.md"
BLOCK = re.compile(r"(<!-- readme-snippet: static \((?P<why>[^)]*)\) -->\n)?```python\n(?P<code>.*?)```",
                   re.S)


def snippets() -> list[tuple[int, str, str | None]]:
    """(line number, code, reason it is not run or None) of every Python block."""
    text = README.read_text()
    return [(text[:m.start("code")].count("\n") + 1, m.group("code"), m.group("why"))
            for m in BLOCK.finditer(text)]


def undefined_names(code: str) -> set[str]:
    """Names read in `code` that it never binds (imports, assignments, definitions, loop and
    comprehension targets, arguments) and that are not builtins."""
    tree = ast.parse(code)
    bound, read = set(dir(builtins)), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            (read if isinstance(node.ctx, ast.Load) else bound).add(node.id)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            bound.update((a.asname or a.name).split(".")[0] for a in node.names)
        elif isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            bound.add(node.name)
        elif isinstance(node, ast.arg):
            bound.add(node.arg)
    return read - bound


def test_the_readme_has_python_snippets():
    assert len(snippets()) >= 5


def test_undefined_names_are_found():
    assert undefined_names("import jax\nx = jax.numpy.ones(3)\ny = models.CNN(x)\n") == {"models"}
    assert undefined_names("def f(a):\n    return [b for b in a]\n") == set()


@pytest.mark.parametrize("line, code, why", snippets(), ids=lambda v: str(v)[:8])
def test_snippet_binds_every_name_it_reads(line, code, why):
    assert not undefined_names(code), f"README.md line {line}: {undefined_names(code)}"


RUN = [(line, code) for line, code, why in snippets() if why is None]


@pytest.mark.parametrize("line, code", RUN, ids=[str(line) for line, _ in RUN])
def test_snippet_runs_alone(line, code):
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, f"README.md line {line}:\n{done.stderr[-3000:]}"
