"""A reproduction folder's results store (`lab.experiments.store`): identity, kept entries,
versions, the lock, reading by validation, special files, strict JSON, the escaped report.

Each test works with stand-in experiments (`conftest.counted`) so that it costs milliseconds."""

import json
import math
import os
import re
import subprocess
import sys
import textwrap
import threading
import time
import tracemalloc

import conftest
import numpy as np
import pytest
from conftest import ROOT, Counted

from mnist1d_jax import cli, outputs
from mnist1d_jax.lab import experiments
from mnist1d_jax.lab.experiments import report, schema, store
from mnist1d_jax.lab.experiments.base import arrays_problem

COMMITTED = os.path.join(ROOT, "benchmarks", "results", "reproduce-cpu")


def _run(out, names=("pooling",), **options):
    return experiments.reproduce(out, list(names), size=options.pop("size", "quick"), log=None,
                                 **options)


def _stored(out) -> dict:
    return json.loads((out / "results.json").read_text(encoding="utf-8"))


def _restore(out, stored: dict) -> None:
    (out / "results.json").write_text(json.dumps(stored), encoding="utf-8")


def _files(folder) -> dict:
    return {name: (folder / name).read_bytes() for name in sorted(os.listdir(folder))}


# identity: nothing stored is replaced without --force

@pytest.mark.parametrize("other", [dict(seed=7), dict(size="full"), dict(size="full", seed=3)])
def test_another_seed_or_size_is_refused_without_force_and_replaces_with_it(tmp_path, counted,
                                                                            other):
    out = tmp_path / "run"
    _run(out, ("pooling", "lottery"))
    before = _files(out)
    with pytest.raises(ValueError, match=r"holds results of another run \(lottery ran at size "
                                         r"quick from jax.random.key\(0\); pooling ran at size "
                                         r"quick from jax.random.key\(0\)\).*--force replaces"):
        _run(out, ("lottery", "pooling"), **other)
    assert _files(out) == before and counted.calls == ["pooling", "lottery"]  # nothing ran
    _run(out, ("pooling",), force=True, **other)
    entries = _stored(out)["experiments"]
    assert entries["pooling"]["size"] == other.get("size", "quick")
    assert entries["pooling"]["key"] == [0, other.get("seed", 0)]
    assert entries["lottery"]["key"] == [0, 0]  # the other experiment untouched


def test_the_command_line_refuses_another_identity_in_one_line(tmp_path, counted, capsys):
    out = tmp_path / "run"
    assert cli.main(["reproduce", "learning-rate", "--quick", "--out", str(out)]) == 0
    capsys.readouterr()
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["reproduce", "learning-rate", "--quick", "--seed", "7", "--out", str(out)])
    err = capsys.readouterr().err
    assert exit_info.value.code == 2 and err.count("\n") == 1 and "--force" in err
    assert _stored(out)["experiments"]["learning-rate"]["key"] == [0, 0]


# the lock: a second run into a folder is refused, never interleaved

def test_a_second_run_into_a_held_folder_is_refused_and_the_first_keeps_everything(tmp_path,
                                                                                   counted):
    out = tmp_path / "run"
    _run(out, ("pooling",))
    with store.open_store(out) as first:
        with pytest.raises(ValueError, match="another mnist1d-jax reproduce is writing to"):
            _run(out, ("lottery",))
        assert counted.calls == ["pooling"]
        first.put(first.results["pooling"])
    _run(out, ("lottery",))  # the lock is released with the first store
    assert set(_stored(out)["experiments"]) == {"pooling", "lottery"}


def test_the_lock_holds_across_processes(tmp_path, counted):
    """Another process holding the folder's lock file (as a run does, through filelock) keeps
    this one out until it lets go."""
    out = tmp_path / "run"
    _run(out, ("pooling",))
    holder = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(f"""
            import sys
            from filelock import FileLock
            with FileLock({str(out / store.REPRODUCTION_LOCK)!r}):
                print("held", flush=True)
                sys.stdin.readline()
        """)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(ValueError, match="another mnist1d-jax reproduce is writing"):
            _run(out, ("lottery",))
    finally:
        holder.communicate("\n", timeout=60)
    _run(out, ("lottery",))
    assert counted.calls == ["pooling", "lottery"]


# entries this version does not read are kept; versions are recorded and compared

def _plant_foreign(out) -> dict:
    stored = _stored(out)
    foreign = {"future-experiment": {"anything": [1, {"nested": "x"}], "schema": 5},
               "lottery": dict(stored["experiments"]["pooling"], name="lottery", schema=99,
                               extra_field_of_a_newer_layout=True)}
    stored["experiments"].update(foreign)
    _restore(out, stored)
    return foreign


def test_entries_this_version_does_not_read_are_kept_untouched(tmp_path, counted):
    out = tmp_path / "run"
    _run(out, ("pooling",))
    foreign = _plant_foreign(out)
    _run(out, ("pooling",))  # a resume that runs nothing
    _run(out, ("activation",))  # a run that adds a result
    entries = _stored(out)["experiments"]
    assert {k: entries[k] for k in foreign} == foreign
    assert set(entries) == {"pooling", "activation"} | set(foreign)
    text = (out / "report.md").read_text(encoding="utf-8")
    assert "keeps 2 entries this version does not read" in text and "future\\-experiment" in \
        text.replace("future-experiment", "future\\-experiment")
    with pytest.raises(ValueError, match="lottery was written by another version.*--force"):
        _run(out, ("lottery",))
    _run(out, ("lottery",), force=True)
    assert _stored(out)["experiments"]["lottery"]["schema"] == experiments.result.SCHEMA


def test_each_result_records_its_versions_and_the_report_says_when_they_mix(tmp_path, counted):
    out = tmp_path / "run"
    _run(out, ("pooling", "lottery"))
    entries = _stored(out)["experiments"]
    import jax

    assert entries["pooling"]["versions"]["jax"] == jax.__version__
    assert set(entries["pooling"]["versions"]) == {"mnist1d-jax", "jax"}
    assert "mixes versions" not in (out / "report.md").read_text(encoding="utf-8")
    stored = _stored(out)
    stored["experiments"]["lottery"]["versions"] = {"mnist1d-jax": "0.0.9", "jax": "0.4.1"}
    _restore(out, stored)
    _run(out, ("pooling",))
    text = (out / "report.md").read_text(encoding="utf-8")
    assert "This folder mixes versions" in text and "JAX 0.4.1" in text


def test_the_committed_full_reproduction_reads_and_fits_its_figures():
    """One run of every experiment at the full size, as defined, each recording its versions,
    every number with a reference judged by its experiment's tolerance: all are read and fit
    their figures."""
    results, kept = store.read_results(COMMITTED)
    assert list(results) == list(experiments.EXPERIMENTS) and not kept
    for name, result in results.items():
        assert result.size == "full" and result.changes == {}
        assert set(result.versions) == {"mnist1d-jax", "jax"}
        assert all(n.tolerance == experiments.EXPERIMENTS[name].tolerance.of(n)
                   for n in result.numbers if n.reference is not None)
        assert arrays_problem(result.arrays, experiments.EXPERIMENTS[name].figure_arrays) == ""


# reading is validation: every damage is one line naming the entry and the field

def _damaged(tmp_path, damage):
    out = tmp_path / "run"
    _run(out, ("pooling",))
    stored = _stored(out)
    damage(stored["experiments"]["pooling"])
    _restore(out, stored)
    return out


DAMAGES = [  # (damage to the pooling entry, what the error must name)
    (lambda e: e["claims"][0].update(holds="false"), "claims[0].holds must be true or false"),
    (lambda e: e["claims"][0].update(holds=1), "claims[0].holds must be true or false"),
    (lambda e: e["numbers"][0].update(values="123"), "numbers[0].values must be a JSON array"),
    (lambda e: e["numbers"][0].update(values=[True]), "numbers[0].values must be a JSON number"),
    (lambda e: e["numbers"][0].update(values=[]), "numbers[0].values must hold 1 to"),
    (lambda e: e["numbers"][0].update(unit="furlongs"), "numbers[0].unit must be one of"),
    (lambda e: e.update(key=[0, 0.7]), "key must be a JSON integer"),
    (lambda e: e.update(key=[False, False]), "key must be a JSON integer"),
    (lambda e: e.update(key=["0", "0"]), "key must be a JSON integer"),
    (lambda e: e.update(key=[0, 2**32]), "key must be in"),
    (lambda e: e.update(wall_s=-1), "wall_s must be in"),
    (lambda e: e.update(name="sizes"), "entry 'pooling'.name is 'sizes'"),
    (lambda e: e.update(surprise=1), "holds 'surprise'"),
    (lambda e: e.pop("versions"), "lacks 'versions'"),
    (lambda e: e.update(schema="2"), "schema must be a JSON integer"),
    (lambda e: e["arrays"]["1.5/outer_loss"].update(dtype="O"), "dtype must be one of"),
    (lambda e: e["arrays"]["1.5/outer_loss"].update(dtype="complex128"), "dtype must be one of"),
    (lambda e: e["arrays"]["1.5/outer_loss"].update(data=[0.0, "1", 2.0]), "holds the string"),
    (lambda e: e["arrays"]["1.5/outer_loss"].update(data=[0.0, [1.0], 2.0]),
     "must hold only JSON numbers"),
    (lambda e: e["arrays"]["1.5/outer_loss"].update(dtype="int64", data=[0, 2**70, 1]),
     "integers outside int64's range"),
    (lambda e: e["arrays"]["1.5/outer_loss"].update(dtype="bool", data=[0, 1, 0]),
     "only true and false"),
    (lambda e: e["arrays"]["1.5/outer_loss"].update(shape=[2, 3]), "holds 3 values for shape"),
    (lambda e: e["claims"][0].update(text="x" * 20_000), "claims[0].text is longer than"),
]


@pytest.mark.parametrize("damage, field", DAMAGES)
def test_a_damaged_entry_is_refused_naming_the_entry_and_field(tmp_path, counted, damage, field):
    out = _damaged(tmp_path, damage)
    before = _files(out)
    with pytest.raises(ValueError) as error:
        _run(out, ("pooling",))
    message = str(error.value)
    assert "\n" not in message and "is damaged: entry 'pooling'" in message, message
    assert field in message, message
    assert _files(out) == before and counted.calls == ["pooling"]


@pytest.mark.parametrize("dtype", ["S1000000000", "U500000000", "V1000000000",
                                   "[('a', 'V2147483647')]", "float128", ">f8", "m8", "M8[s]"])
def test_a_huge_or_unknown_dtype_is_refused_before_anything_is_allocated(tmp_path, counted,
                                                                         dtype):
    out = _damaged(tmp_path, lambda e: e["arrays"].update(
        big={"dtype": dtype, "shape": [2], "data": [0, 0]}))
    tracemalloc.start()
    started = time.perf_counter()
    with pytest.raises(ValueError, match=r"arrays\['big'\].dtype must be one of"):
        _run(out, ("pooling",))
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert time.perf_counter() - started < 1.0 and peak < 50 << 20, peak


@pytest.mark.parametrize("shape", [[2**40], [2**20, 2**20], [1 << 24, 2]])
def test_a_huge_declared_shape_is_refused_before_anything_is_allocated(tmp_path, counted, shape):
    out = _damaged(tmp_path, lambda e: e["arrays"].update(
        big={"dtype": "float64", "shape": shape, "data": [0.0]}))
    with pytest.raises(ValueError, match=r"big.*(declares|must be in)"):
        _run(out, ("pooling",))


def test_deep_nesting_is_refused_in_one_line(tmp_path, counted):
    out = tmp_path / "run"
    _run(out, ("pooling",))
    text = (out / "results.json").read_text()
    deep = "[" * 100_000 + "]" * 100_000
    (out / "results.json").write_text(text[:-1] + f', "extra": {deep}}}')
    with pytest.raises(ValueError, match="nests JSON arrays and objects more than 64 deep"):
        _run(out, ("pooling",))


@pytest.mark.parametrize("text, problem", [
    (b'{"format": "mnist1d-jax reproduce", "experiments": {}, "format": "x"}', "appears twice"),
    (b'\xff\xfe{}', "not UTF-8"), (b'{"format": "mnist1d-jax reproduce", "experiments": [}',
                                   "not JSON")])
def test_a_malformed_file_is_refused(tmp_path, counted, text, problem):
    out = tmp_path / "run"
    _run(out, ("pooling",))
    (out / "results.json").write_bytes(text)
    with pytest.raises(ValueError, match=problem):
        store.read_results(str(out))


# special files are refused before they are opened

def _refused_quickly(call) -> str:
    """The message of the ValueError `call` raises, in a thread that must end within 5 s (a
    FIFO opened for reading would block it forever)."""
    caught = []

    def target():
        try:
            call()
        except ValueError as error:
            caught.append(str(error))

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(5)
    assert not thread.is_alive(), "it blocked"
    assert caught, "nothing was refused"
    return caught[0]


@pytest.mark.parametrize("plant", [
    lambda path: os.mkfifo(path),
    lambda path: os.symlink("/dev/zero", path),
    lambda path: os.symlink(path.parent.parent / "elsewhere.json", path),
])
def test_special_files_and_links_are_refused_without_being_read(tmp_path, counted, plant):
    out = tmp_path / "run"
    _run(out, ("pooling",))
    (tmp_path / "elsewhere.json").write_text((out / "results.json").read_text())
    (out / "results.json").unlink()
    plant(out / "results.json")
    message = _refused_quickly(lambda: _run(out, ("pooling",)))
    assert "results.json in it is not a regular file" in message
    message = _refused_quickly(lambda: store.read_results(str(out)))
    assert "is not a regular file" in message


def test_the_file_layer_bounds_what_it_reads(tmp_path):
    (tmp_path / "big").write_bytes(b"x" * 101)
    with pytest.raises(ValueError, match="holds 101 bytes, more than a results file may"):
        outputs.read_regular(tmp_path / "big", 100, "results file")
    assert outputs.read_regular(tmp_path / "big", 101) == b"x" * 101
    os.mkfifo(tmp_path / "fifo")
    assert "not a regular file" in _refused_quickly(
        lambda: outputs.read_regular(tmp_path / "fifo", 100))
    with pytest.raises(FileNotFoundError):
        outputs.read_regular(tmp_path / "none", 100)


# what is written: strict JSON in UTF-8, and a report that shows stored text as text

def test_non_finite_numbers_are_stored_as_strict_json_and_read_back(tmp_path):
    result = experiments.Result(
        "learning-rate", "quick", (0, 0),
        [experiments.Number("diverged", [math.nan, math.inf], -math.inf)],
        [experiments.Claim("c", False, "e")],
        {"1.5/outer_loss": np.array([np.nan, np.inf, -np.inf, 1.0], np.float32)}, 1.0, "CPU",
        {"mnist1d-jax": "x", "jax": "y"})

    def refuse(token):
        raise AssertionError(f"{token} in strict JSON")

    text = schema.dumps({"r": result.to_json()})
    back = experiments.Result.from_json(json.loads(text, parse_constant=refuse)["r"])
    assert back.to_json() == result.to_json()
    assert np.isnan(back.numbers[0].values[0]) and back.numbers[0].reference == -math.inf
    np.testing.assert_array_equal(back.arrays["1.5/outer_loss"], result.arrays["1.5/outer_loss"])
    with pytest.raises(ValueError, match="cannot be stored"):
        experiments.Result("x", "quick", (0, 0), [], [], {"c": np.ones(2, complex)}).to_json()


HOSTILE = "ok\n\n# heading <img src=x onerror=alert(1)> | cell ![i](x.png) [l](http://x) `c`"


def test_the_report_shows_stored_text_as_text(tmp_path, counted, monkeypatch):
    out = tmp_path / "run"
    _run(out, ("pooling",))
    stored = _stored(out)
    entry = stored["experiments"]["pooling"]
    entry["claims"][0]["text"] = entry["claims"][0]["evidence"] = HOSTILE
    entry["numbers"][0]["label"] = entry["device"] = HOSTILE
    _restore(out, stored)
    _run(out, ("pooling",))
    text = (out / "report.md").read_text(encoding="utf-8")
    assert "<img" not in text and "\n# heading" not in text and "![i]" not in text
    assert "[l](" not in text and "# heading" not in text.replace("\\# heading", "")
    table_rows = [line for line in text.splitlines() if line.startswith("| ")]
    assert all(line.count("|") - line.count("\\|") in (6, 8) for line in table_rows), table_rows
    assert report.escape(HOSTILE).count("&lt;img") == 1


@pytest.mark.slow
def test_an_ascii_locale_writes_the_report_in_utf8(tmp_path):
    script = textwrap.dedent("""
        import sys
        from conftest import Counted
        from mnist1d_jax import cli
        from mnist1d_jax.lab import experiments
        counter = Counted()
        counter.install()
        sys.exit(cli.main(sys.argv[1:]))
    """)
    env = dict(os.environ, LC_ALL="C", LANG="C", PYTHONUTF8="0", PYTHONIOENCODING="",
               PYTHONCOERCECLOCALE="0", PYTHONPATH=os.path.dirname(conftest.__file__))
    done = subprocess.run([sys.executable, "-c", script, "reproduce", "learning-rate", "--quick",
                           "--out", str(tmp_path / "r")], capture_output=True, env=env,
                          timeout=300, cwd=tmp_path)
    assert done.returncode == 0, done.stderr.decode(errors="replace")[-2000:]
    assert "± 0.5 (2 seeds)".encode() in (tmp_path / "r" / "report.md").read_bytes()
    assert re.search(rb"wrote .*report.md: 1 experiments", done.stdout)


# figures from stored arrays

@pytest.mark.parametrize("damage, why", [
    (lambda a: a.pop("1.5/outer_loss"), "KeyError: '1.5/outer_loss'"),
    (lambda a: a.update({"1.5/outer_loss": {"dtype": "float64", "shape": [1, 3],
                                            "data": [0.0, 1.0, 2.0]}}), "has 2 dimensions"),
    (lambda a: a.update({"stray": {"dtype": "float64", "shape": [], "data": [1.0]}}),
     "array 'stray' that the figure does not read"),
])
def test_a_figure_whose_arrays_do_not_fit_is_skipped_with_a_note(tmp_path, counted, monkeypatch,
                                                                 damage, why):
    Counted().install(monkeypatch)  # the learning-rate experiment's own figure
    out = tmp_path / "run"
    experiments.reproduce(out, ["learning-rate"], size="quick", log=None)
    stored = _stored(out)
    damage(stored["experiments"]["learning-rate"]["arrays"])
    _restore(out, stored)
    (out / "learning-rate.png").unlink()
    lines = []
    experiments.reproduce(out, ["learning-rate"], size="quick", log=lines.append)
    assert "figure not drawn" in lines[0] and why in lines[0], lines
    assert not (out / "learning-rate.png").exists()
    assert "Figure not drawn" in (out / "report.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("damage", [lambda e: e["claims"][0].update(holds="false"),
                                    lambda e: e["arrays"].update(big={"dtype": "U500000000",
                                                                      "shape": [2], "data": []})])
def test_the_command_line_refuses_a_damaged_folder_in_one_line_at_once(tmp_path, counted, capsys,
                                                                       damage):
    out = _damaged(tmp_path, damage)
    capsys.readouterr()
    started = time.perf_counter()
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["reproduce", "pooling", "--quick", "--out", str(out), "--no-cache"])
    assert time.perf_counter() - started < 1.0
    err = capsys.readouterr().err
    assert exit_info.value.code == 2 and err.count("\n") == 1 and "Traceback" not in err
    assert "is damaged: entry 'pooling'" in err
