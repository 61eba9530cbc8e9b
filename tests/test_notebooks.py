"""Every notebook is a jupytext pair (`NAME.py` in percent format beside `NAME.ipynb`) whose cells
agree; it runs top to bottom (in its fast mode: MNIST1D_FAST=1, a few steps), and its figures
appear in its outputs: those committed (from a full run) and those of the fast run."""

import concurrent.futures
import os
import pathlib

import jupytext
import nbformat
import pytest
from conftest import FAST_XLA_FLAGS
from nbclient import NotebookClient

NOTEBOOKS = sorted((pathlib.Path(__file__).parent.parent / "notebooks").glob("*.ipynb"))


def test_the_notebooks_exist():
    names = {path.stem for path in NOTEBOOKS}
    assert {"quickstart", "classification"} <= names


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_each_notebook_is_a_jupytext_pair_in_sync(path):
    """Edit either side in Jupyter (which saves both) or the text source (then `jupytext --sync`):
    a source changed without its notebook, or the reverse, fails here."""
    notebook = nbformat.read(path, as_version=4)
    assert notebook.metadata.get("jupytext", {}).get("formats") == "ipynb,py:percent"
    source = path.with_suffix(".py")
    assert source.exists(), f"{source.name} is missing: jupytext --sync {path.name}"
    paired = jupytext.read(source)
    cells = lambda nb: [(c.cell_type, c.source) for c in nb.cells]  # noqa: E731
    assert cells(paired) == cells(notebook), f"out of sync: jupytext --sync {source.name}"


def test_every_text_source_has_its_notebook():
    sources = {p.stem for p in NOTEBOOKS[0].parent.glob("*.py")}
    assert sources == {p.stem for p in NOTEBOOKS}


PLOTTING = ("plt.", "plot.", "plot_", ".figure(")


def figure_cells(notebook) -> list[int]:
    """Indices of the code cells whose outputs hold a PNG image."""
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    return [i for i, cell in enumerate(code)
            if any("image/png" in out.get("data", {}) for out in cell.get("outputs", []))]


def plotting_cells(notebook) -> list[int]:
    """Indices of the code cells that draw (matplotlib, `mnist1d_jax.plot` or an experiment
    result's `figure()`)."""
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    return [i for i, cell in enumerate(code) if any(k in cell.source for k in PLOTTING)]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_committed_outputs_hold_every_figure(path):
    notebook = nbformat.read(path, as_version=4)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert all(cell.execution_count for cell in code), "not run in full before committing"
    assert figure_cells(notebook) and figure_cells(notebook) == plotting_cells(notebook)


def execute(path):
    """`path` run top to bottom in a fresh kernel; returns the notebook with its outputs."""
    notebook = nbformat.read(path, as_version=4)
    NotebookClient(notebook, timeout=600, kernel_name="python3",
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    return notebook


LONGEST = ("self-supervised-learning", "hacking", "classification")
"""The notebooks that take longest in their fast mode: started first, so that the two kernels
finish together."""


@pytest.fixture(scope="module")
def executed(experiments_cache):
    """Every notebook in its fast mode (the experiments at their smoke size), two kernels at a
    time (each is mostly single-threaded compilation, so two share the CI machine's two cores
    well), compiled as `FAST_XLA_FLAGS` says, with the session's compilation cache, which keeps
    every program as the command line's does (JAX and XLA read their variables when they
    start)."""
    root = str(pathlib.Path(__file__).parent.parent)  # the kernels import this tree's package,
    env = {"MNIST1D_FAST": "1",  # not another copy installed elsewhere
           "PYTHONPATH": os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH")) if p),
           "JAX_COMPILATION_CACHE_DIR": str(experiments_cache),
           "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS": "0",  # as the command line's cache
           "JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES": "0",
           "XLA_FLAGS": FAST_XLA_FLAGS}
    saved = {k: os.environ.get(k) for k in (*env, "MPLBACKEND")}
    os.environ.update(env)
    os.environ.pop("MPLBACKEND", None)  # the kernel's own (inline) backend
    try:
        with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
            futures = {path: pool.submit(execute, path) for path in
                       sorted(NOTEBOOKS, key=lambda path: path.stem not in LONGEST)}
            yield {path: future.exception() or future.result() for path, future in futures.items()}
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_executes_and_draws_its_figures(path, executed):
    notebook = executed[path]
    if isinstance(notebook, BaseException):
        raise notebook
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert code and all(cell.execution_count for cell in code)
    errors = [o for cell in code for o in cell.get("outputs", []) if o.output_type == "error"]
    assert not errors
    assert figure_cells(notebook) == plotting_cells(notebook) != []
