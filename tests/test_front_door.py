"""The front door: the core without extras, the command line's imports and its compilation
cache. Each case runs in a new interpreter, where imports and JAX's configuration start fresh."""

import os
import pickle
import re
import subprocess
import sys

import numpy as np
import pytest

FORBIDDEN = ("flax", "optax", "orbax", "tensorstore", "matplotlib", "rich", "tqdm")
"""Modules the generator (the library, not the command line's progress bar) never needs."""


def python(code: str, env: dict | None = None, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=env, cwd=cwd, timeout=300)


def blocked(*modules: str) -> str:
    """Code that makes importing `modules` fail, as if they were not installed."""
    return "import sys\n" + "".join(f"sys.modules[{m!r}] = None\n" for m in modules)


MODULES = [("mnist1d_jax.lab", "lab", "flax"), ("mnist1d_jax.lab.nn", "lab", "flax"),
           ("mnist1d_jax.lab.training", "lab", "flax"), ("mnist1d_jax.lab.meta", "lab", "flax"),
           ("mnist1d_jax.lab.sweeps", "lab", "flax"), ("mnist1d_jax.lab.parallel", "lab", "flax"),
           ("mnist1d_jax.lab.lottery", "lab", "flax"),
           ("mnist1d_jax.lab.contrastive", "lab", "flax"),
           ("mnist1d_jax.plot", "plot", "matplotlib"),
           ("mnist1d_jax.adapters.torch", "torch", "torch"),
           ("mnist1d_jax.adapters.grain", "grain", "grain"),
           ("mnist1d_jax.adapters.parquet", "parquet", "pyarrow")]


def test_a_missing_extra_is_one_line_naming_the_install_command():
    done = python(blocked("flax", "matplotlib", "torch", "grain", "pyarrow") + f"""
import importlib
for module, _, _ in {MODULES!r}:
    try:
        importlib.import_module(module)
    except ImportError as error:
        print(type(error).__name__, str(error))
""")
    assert done.returncode == 0, done.stderr
    expected = [f"MissingExtra {'mnist1d_jax.lab' if '.lab' in module else module} needs "
                f"{missing}, which is not installed: pip install 'mnist1d-jax[{extra}]'"
                for module, extra, missing in MODULES]
    assert done.stdout.splitlines() == expected


@pytest.mark.parametrize("missing, extra", [("flax", "lab"), ("matplotlib", "plot")])
def test_reproduce_without_its_extras_is_one_line_and_exit_2(tmp_path, missing, extra):
    done = python(blocked(missing) + f"""
from mnist1d_jax.cli import main
sys.exit(main(["reproduce", "--quick", "--out", {str(tmp_path / 'r')!r}]))
""")
    assert done.returncode == 2 and not (tmp_path / "r").exists()
    assert done.stderr == (f"mnist1d-jax reproduce: error: mnist1d-jax reproduce needs {missing}, "
                           f"which is not installed: pip install 'mnist1d-jax[{extra}]'\n")


def test_optax_missing_is_named_too():
    done = python(blocked("optax") + "import mnist1d_jax.lab")
    assert "mnist1d_jax.lab needs optax, which is not installed: pip install 'mnist1d-jax[lab]'" \
        in done.stderr


@pytest.mark.slow
def test_the_generator_works_without_any_extra(tmp_path):
    done = python(blocked(*FORBIDDEN) + f"""
import jax, mnist1d_jax
from mnist1d_jax import chunked, cli, files
data = mnist1d_jax.make_dataset(None, mnist1d_jax.get_dataset_args(num_samples=100))
batch = mnist1d_jax.sample_batch(jax.random.key(0), None, 8)
mnist1d_jax.save(data, {str(tmp_path / 'd.npz')!r})
print(mnist1d_jax.load({str(tmp_path / 'd.npz')!r})["x"].shape, batch["x"].shape)
import mnist1d_jax.compat as mnist1d  # the reference's API needs no extra either
args = mnist1d.get_dataset_args()
args.num_samples = 50
print(mnist1d.data.make_dataset(args)["x"].shape)
try:
    mnist1d.plot_signals(data["x"], data["t"])
except ImportError as error:
    print(error)
""")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "(80, 40) (8, 40)", "(40, 40)",
        "mnist1d_jax.compat.utils.plot_signals needs matplotlib, which is not installed: "
        "pip install 'mnist1d-jax[plot]'"]


def test_cli_plot_without_matplotlib_exits_2_with_one_line(tmp_path):
    done = python(blocked("matplotlib") + f"""
from mnist1d_jax.cli import main
main(["plot", "--out", {str(tmp_path / 'p.png')!r}, "--num-samples", "100"])
""")
    assert done.returncode == 2
    assert done.stderr == ("mnist1d-jax plot: error: mnist1d_jax.plot needs matplotlib, which is "
                           "not installed: pip install 'mnist1d-jax[plot]'\n")
    assert not (tmp_path / "p.png").exists()


@pytest.mark.slow
def test_generate_imports_nothing_of_the_lab_or_plots(tmp_path):
    done = python(f"""
import sys
from mnist1d_jax.cli import main
main(["generate", "--out", {str(tmp_path / 'd.pkl')!r}, "--num-samples", "100", "--no-cache"])
print(sorted({{m.split(".")[0] for m in sys.modules}} & set({FORBIDDEN!r})))
""")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == "[]"


def cli_env(tmp_path, **extra) -> dict:
    env = {k: v for k, v in os.environ.items() if k != "MNIST1D_JAX_NO_CACHE"}
    return {**env, "XDG_CACHE_HOME": str(tmp_path / "xdg"), **extra}


def generate(tmp_path, out: str, env: dict, *flags: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "mnist1d_jax", "generate", "--num-samples", "200",
                           "--out", str(tmp_path / out), *flags],
                          capture_output=True, text=True, env=env, timeout=300)


def loaded(summary: str) -> tuple[int, int]:
    match = re.search(r"(\d+) of (\d+) programs loaded", summary)
    assert match, summary
    return int(match.group(1)), int(match.group(2))


def entries(folder) -> set:
    return set(os.listdir(folder)) if os.path.isdir(folder) else set()


@pytest.mark.slow
def test_cache_on_by_default_second_run_loads_every_program(tmp_path):
    env = cli_env(tmp_path)
    folder = tmp_path / "xdg" / "mnist1d-jax" / "jax"
    first = generate(tmp_path, "a.pkl", env)
    assert first.returncode == 0, first.stderr
    assert f"cache {folder}" in first.stdout and loaded(first.stdout)[0] == 0
    written = entries(folder)
    assert any(name.startswith("jit__generate") for name in written)
    second = generate(tmp_path, "b.pkl", env)
    hits, requests = loaded(second.stdout)
    assert second.returncode == 0 and hits == requests > 0 and second.stderr == ""
    assert {n for n in entries(folder) if n.endswith("-cache")} == \
        {n for n in written if n.endswith("-cache")}
    with open(tmp_path / "a.pkl", "rb") as a, open(tmp_path / "b.pkl", "rb") as b:
        first_data, second_data = pickle.load(a), pickle.load(b)
    np.testing.assert_array_equal(first_data["x"], second_data["x"])


@pytest.mark.slow
@pytest.mark.parametrize("how", ["flag", "variable"])
def test_cache_off_writes_nothing(tmp_path, how):
    env = cli_env(tmp_path, **({"MNIST1D_JAX_NO_CACHE": "1"} if how == "variable" else {}))
    done = generate(tmp_path, "a.pkl", env, *(["--no-cache"] if how == "flag" else []))
    assert done.returncode == 0, done.stderr
    assert "(cache off)" in done.stdout
    assert not (tmp_path / "xdg").exists()


@pytest.mark.slow
def test_a_cache_folder_that_cannot_be_created_means_no_cache(tmp_path):
    (tmp_path / "xdg").write_text("a file where the cache folder would go")
    done = generate(tmp_path, "a.pkl", cli_env(tmp_path))
    assert done.returncode == 0 and done.stderr == "", done.stderr
    assert "cache unavailable: cannot create" in done.stdout
    assert (tmp_path / "xdg").read_text() == "a file where the cache folder would go"


@pytest.mark.slow
def test_broken_cache_entries_are_compiled_afresh_with_one_note(tmp_path):
    env = cli_env(tmp_path)
    folder = tmp_path / "xdg" / "mnist1d-jax" / "jax"
    assert generate(tmp_path, "a.pkl", env).returncode == 0
    for name in entries(folder):
        (folder / name).write_bytes(b"not a compiled program")
    done = generate(tmp_path, "b.pkl", env)
    assert done.returncode == 0, done.stderr
    note = done.stderr.splitlines()
    assert len(note) == 1 and re.fullmatch(
        rf"note: \d+ entries of the compilation cache could not be read and were compiled "
        rf"afresh; delete {re.escape(str(folder))} to rebuild it", note[0]), done.stderr
    with open(tmp_path / "a.pkl", "rb") as a, open(tmp_path / "b.pkl", "rb") as b:
        np.testing.assert_array_equal(pickle.load(a)["x"], pickle.load(b)["x"])


@pytest.mark.slow
def test_the_library_leaves_jax_configuration_alone():
    done = python("""
import jax
before = {k: getattr(jax.config, k) for k in ("jax_compilation_cache_dir",
          "jax_persistent_cache_min_compile_time_secs", "jax_enable_x64")}
import mnist1d_jax, mnist1d_jax.lab.training, mnist1d_jax.plot, mnist1d_jax.cli, mnist1d_jax.cache
mnist1d_jax.make_dataset(None, mnist1d_jax.get_dataset_args(num_samples=50))
after = {k: getattr(jax.config, k) for k in before}
print(before == after, after["jax_compilation_cache_dir"])
""")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "True None"
