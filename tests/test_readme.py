"""The Python snippets of the README and of `docs/` run as written when pasted alone.

Every ```python block is checked statically: each name it reads is imported or assigned in the
same block (or is a builtin); a block that imports an optional extra's library says so in a
comment on its first line; a block ends by printing what it computed. The quick blocks are also
run, each alone: in a namespace of its own (nothing of another block is visible to it), in one
interpreter that the test session keeps for them (each new interpreter would spend seconds
importing JAX again); a block preceded by `<!-- readme-snippet: static (why) -->` is only checked
statically.
"""

import ast
import builtins
import json
import pathlib
import re
import subprocess
import sys
import textwrap

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
BLOCK = re.compile(r"(<!-- readme-snippet: static \((?P<why>[^)]*)\) -->\n)?```python\n"
                   r"(?P<code>.*?)```", re.S)


def snippets() -> list[tuple[str, str, str | None]]:
    """("page:line", code, reason it is not run or None) of every Python block."""
    found = []
    for page in PAGES:
        text = page.read_text()
        found += [(f"{page.relative_to(ROOT)}:{text[:m.start('code')].count(chr(10)) + 1}",
                   m.group("code"), m.group("why")) for m in BLOCK.finditer(text)]
    return found


EXTRAS = {"flax": "lab", "optax": "lab", "mnist1d_jax.lab": "lab", "matplotlib": "plot",
          "mnist1d_jax.plot": "plot", "torch": "torch", "mnist1d_jax.adapters.torch": "torch",
          "grain": "grain", "mnist1d_jax.adapters.grain": "grain", "pyarrow": "parquet",
          "datasets": "parquet", "mnist1d_jax.adapters.parquet": "parquet"}


def extras_needed(code: str) -> set[str]:
    """The extras whose libraries `code` imports."""
    needed = set()
    for node in ast.walk(ast.parse(code)):
        names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                 else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
        for name in names:
            needed |= {extra for module, extra in EXTRAS.items()
                       if name == module or name.startswith(module + ".")}
    return needed


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


def test_the_readme_and_docs_have_python_snippets():
    assert len(snippets()) >= 10 and any(where.startswith("README") for where, _, _ in snippets())


def test_undefined_names_are_found():
    assert undefined_names("import jax\nx = jax.numpy.ones(3)\ny = models.CNN(x)\n") == {"models"}
    assert undefined_names("def f(a):\n    return [b for b in a]\n") == set()


def test_extras_are_found():
    assert extras_needed("import jax\nfrom flax import nnx\nimport mnist1d_jax.plot\n") == \
        {"lab", "plot"}


@pytest.mark.parametrize("where, code, why", snippets(), ids=[w for w, _, _ in snippets()])
def test_snippet_binds_every_name_it_reads(where, code, why):
    assert not undefined_names(code), f"{where}: {undefined_names(code)}"


@pytest.mark.parametrize("where, code, why", snippets(), ids=[w for w, _, _ in snippets()])
def test_snippet_names_its_extras_on_the_first_line(where, code, why):
    first = code.splitlines()[0]
    missing = [extra for extra in sorted(extras_needed(code)) if f"[{extra}" not in first
               and f",{extra}" not in first]
    assert not missing or first.startswith("#"), f"{where}: first line names no extra {missing}"
    assert not missing, f"{where}: the first line's comment does not name {missing}"


@pytest.mark.parametrize("where, code, why", snippets(), ids=[w for w, _, _ in snippets()])
def test_snippet_ends_by_printing(where, code, why):
    last = ast.parse(code).body[-1]
    prints = [n for n in ast.walk(last) if isinstance(n, ast.Call)
              and isinstance(n.func, ast.Name) and n.func.id == "print"]
    assert prints, f"{where}: ends without printing what it computed"


RUN = [(where, code) for where, code, why in snippets() if why is None]


RUNNER = textwrap.dedent("""
    import contextlib, io, json, sys, traceback
    for line in sys.stdin:
        code = json.loads(line)
        out = io.StringIO()
        try:
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
                exec(compile(code, "<snippet>", "exec"), {"__name__": "__main__"})
            reply = {"ok": True, "output": out.getvalue()[-3000:]}
        except BaseException:
            reply = {"ok": False, "output": (out.getvalue() + traceback.format_exc())[-3000:]}
        print(json.dumps(reply), flush=True)
""")


@pytest.fixture(scope="module")
def runner():
    """One interpreter that runs each snippet it is sent in a fresh namespace."""
    process = subprocess.Popen([sys.executable, "-c", RUNNER], stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, text=True, cwd=ROOT)
    try:
        yield process
    finally:
        process.stdin.close()
        process.wait(timeout=60)


@pytest.mark.slow
@pytest.mark.parametrize("where, code", RUN, ids=[where for where, _ in RUN])
def test_snippet_runs_alone(where, code, runner):
    runner.stdin.write(json.dumps(code) + "\n")
    runner.stdin.flush()
    reply = runner.stdout.readline()
    assert reply, f"{where}: the snippets' interpreter ended"
    reply = json.loads(reply)
    assert reply["ok"], f"{where}:\n{reply['output']}"
