"""`mnist1d-jax reproduce`: the folder's house rules, resuming, interruption, the command line;
and (slow tier) the whole quick run, whose report must be complete, finite and sane."""

import json
import os
import re
import subprocess
import sys

import numpy as np
import pytest
from conftest import FAST_XLA_FLAGS, Counted

from mnist1d_jax import cli
from mnist1d_jax.lab import experiments
from mnist1d_jax.lab.experiments.base import outcome
from mnist1d_jax.lab.experiments.store import REPRODUCTION_LOCK
from mnist1d_jax.outputs import PNG_SIGNATURE, TEMP_MARK


def written(folder) -> set:
    """The files of a reproduction folder but its lock file (which a run leaves, empty)."""
    return set(os.listdir(folder)) - {REPRODUCTION_LOCK}


def test_a_new_folder_gets_report_results_and_figures(tmp_path, counted):
    out = tmp_path / "run"
    lines = []
    results = experiments.reproduce(out, ["pooling", "lottery"], size="quick", log=lines.append)
    assert written(out) == {"report.md", "results.json", "pooling.png", "lottery.png"}
    assert (out / REPRODUCTION_LOCK).is_file()
    assert counted.calls == ["pooling", "lottery"] and list(results) == ["pooling", "lottery"]
    assert all((out / f).read_bytes().startswith(PNG_SIGNATURE) for f in written(out)
               if f.endswith(".png"))
    stored = json.loads((out / "results.json").read_text())
    assert stored["format"] == "mnist1d-jax reproduce" and set(stored["experiments"]) == {
        "pooling", "lottery"}
    report = (out / "report.md").read_text()
    assert "## Pooling: how much it helps, and when (`pooling`)" in report
    assert report.index("(`pooling`)") < report.index("(`lottery`)")
    assert len(lines) == 2
    assert re.match(r"pooling: \d+\.\d s on CPU, \d+ cores; 1 of 1 claims hold$", lines[0])


def test_results_in_the_folder_are_not_run_again_unless_forced(tmp_path, counted):
    out = tmp_path / "run"
    experiments.reproduce(out, ["pooling"], size="quick", log=None)
    lines = []
    experiments.reproduce(out, ["pooling", "lottery"], size="quick", log=lines.append)
    assert counted.calls == ["pooling", "lottery"]
    assert "pooling: already in" in lines[0] and "not run again" in lines[0]
    experiments.reproduce(out, ["pooling"], size="quick", force=True, log=None)
    experiments.reproduce(out, ["pooling"], size="full", force=True, log=None)  # another size
    experiments.reproduce(out, ["pooling"], size="full", seed=3, force=True, log=None)  # and key
    assert counted.calls == ["pooling", "lottery", "pooling", "pooling", "pooling"]
    assert json.loads((out / "results.json").read_text())["experiments"]["pooling"]["key"] == \
        [0, 3]


def test_changed_settings_reach_their_experiments_and_are_part_of_a_results_identity(
        tmp_path, counted):
    out = tmp_path / "run"
    experiments.reproduce(out, ["pooling", "lottery"], size="quick",
                          changes={"seeds": 1, "lottery.rounds": 3}, log=None)
    pooling, lottery = counted.settings
    assert pooling == experiments.pooling.settings("quick", seeds=1)  # lottery has no seeds
    assert lottery == experiments.lottery_tickets.settings("quick", rounds=3)
    assert experiments.reproduce(out, ["pooling"], size="quick", changes={"seeds": 1},
                                 log=None)["pooling"].changes == {"seeds": 1}
    assert counted.calls == ["pooling", "lottery"]  # the same identity: not run again
    with pytest.raises(ValueError, match=re.escape("pooling ran at size quick with seeds=1 from "
                                                   "jax.random.key(0)")):
        experiments.reproduce(out, ["pooling"], size="quick", log=None)
    with pytest.raises(ValueError, match=re.escape("lottery ran at size quick with rounds=3")):
        experiments.reproduce(out, ["lottery"], size="quick", changes={"rounds": 4}, log=None)
    report = (out / "report.md").read_text()
    assert "| `pooling` | quick with seeds=1 |" in report
    assert counted.calls == ["pooling", "lottery"]


@pytest.mark.parametrize("changes, error", [
    ({"nonsense": 1}, "no experiment of this run has a setting 'nonsense'"),
    ({"paper-table.seeds": 1}, "a change names 'paper-table', which this run does not include"),
    ({"pooling.seeds": 0}, "pooling setting seeds must be in [1, 10,000,000]; got 0"),
    ({"rounds": "3"}, "lottery setting rounds must be an integer; got '3'")])
def test_a_bad_change_is_refused_before_anything_runs(tmp_path, counted, changes, error):
    with pytest.raises((TypeError, ValueError), match=re.escape(error)):
        experiments.reproduce(tmp_path / "run", ["pooling", "lottery"], size="quick",
                              changes=changes, log=None)
    assert not counted.calls and not (tmp_path / "run").exists()


def test_the_command_line_changes_settings_with_set(tmp_path, capsys, counted):
    assert cli.main(["reproduce", "pooling", "--out", str(tmp_path / "r"), "--quick",
                     "--set", "seeds=1", "--set", "pooling.sizes=[100, 200]"]) == 0
    assert counted.settings == [experiments.pooling.settings("quick", seeds=1, sizes=[100, 200])]
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["reproduce", "pooling", "--out", str(tmp_path / "s"), "--quick",
                  "--set", "seeds"])
    err = capsys.readouterr().err
    assert exit_info.value.code == 2 and err.count("\n") == 1
    assert "--set takes SETTING=VALUE or NAME.SETTING=VALUE" in err


def test_a_registered_experiment_without_a_figure_is_reproduced_and_reported(tmp_path,
                                                                             monkeypatch):
    def run(key, settings, progress):
        progress("draw", 0, 1)
        return outcome([experiments.Number("n", [float(settings["seeds"])], None, "")],
                       [experiments.Claim("c", True, "e")], {})

    monkeypatch.setitem(experiments.EXPERIMENTS, "mine", None)  # removed again after the test
    experiments.EXPERIMENTS.pop("mine")
    experiments.register(experiments.Experiment(
        "mine", "Mine", run, None, {"quick": {"seeds": 1}, "full": {"seeds": 4}}, {},
        (None, "none")))
    out = tmp_path / "run"
    results = experiments.reproduce(out, ["mine"], size="quick", changes={"seeds": 3}, log=None)
    assert results["mine"].number("n").values == (3.0,)
    assert written(out) == {"report.md", "results.json"}
    assert "## Mine (`mine`)" in (out / "report.md").read_text() and \
        "No figure." in (out / "report.md").read_text()
    experiments.reproduce(out, ["mine"], size="quick", changes={"seeds": 3}, log=None)  # resumed
    assert written(out) == {"report.md", "results.json"}


def test_a_missing_figure_is_drawn_again_from_the_stored_result(tmp_path, counted):
    out = tmp_path / "run"
    experiments.reproduce(out, ["learning-rate"], size="quick", log=None)
    before = (out / "learning-rate.png").read_bytes()
    (out / "learning-rate.png").unlink()
    experiments.reproduce(out, ["learning-rate"], size="quick", log=None)
    assert counted.calls == ["learning-rate"]
    assert (out / "learning-rate.png").read_bytes() == before


def test_an_interrupted_run_keeps_every_finished_experiment_and_a_whole_report(tmp_path,
                                                                               monkeypatch):
    counter = Counted(fail={"lottery": KeyboardInterrupt()})
    counter.install(monkeypatch)
    out = tmp_path / "run"
    with pytest.raises(KeyboardInterrupt):
        experiments.reproduce(out, ["pooling", "lottery", "activation"], size="quick", log=None)
    assert written(out) == {"report.md", "results.json", "pooling.png"}  # no temporaries
    assert "(`pooling`)" in (out / "report.md").read_text()
    assert "(`lottery`)" not in (out / "report.md").read_text()
    counter.fail = None
    experiments.reproduce(out, ["pooling", "lottery", "activation"], size="quick", log=None)
    assert counter.calls == ["pooling", "lottery", "lottery", "activation"]


@pytest.mark.parametrize("setup, message", [
    (lambda d: (d / "notes.txt").write_text("mine"), "did not write: ['notes.txt']"),
    (lambda d: (d / "report.md").write_text("mine"), "no readable results.json"),
    (lambda d: (d / "results.json").write_text('{"format": "other"}'),
     "results.json was not written by mnist1d-jax reproduce"),
    (lambda d: [(d / "results.json").write_text('{"format": "mnist1d-jax reproduce"}'),
                (d / "pooling.png").write_text("not an image")], "pooling.png in it is not a PNG"),
])
def test_a_folder_this_package_did_not_write_is_refused_untouched(tmp_path, counted, setup,
                                                                  message):
    out = tmp_path / "theirs"
    out.mkdir()
    setup(out)
    before = {f: (out / f).read_bytes() for f in written(out)}
    with pytest.raises(ValueError, match=re.escape(message)):
        experiments.reproduce(out, ["pooling"], size="quick", log=None)
    assert {f: (out / f).read_bytes() for f in written(out)} == before and not counted.calls


def test_an_empty_folder_is_used_and_protected_places_are_refused(tmp_path, counted, monkeypatch):
    (tmp_path / "empty").mkdir()
    experiments.reproduce(tmp_path / "empty", ["pooling"], size="quick", log=None)
    assert "report.md" in written(tmp_path / "empty")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ValueError, match="working directory"):
        experiments.reproduce(".", ["pooling"], size="quick", log=None)
    with pytest.raises(ValueError, match="does not exist"):
        experiments.reproduce(tmp_path / "no" / "such", ["pooling"], size="quick", log=None)
    (tmp_path / "file").write_text("x")
    with pytest.raises(ValueError, match="not a folder"):
        experiments.reproduce(tmp_path / "file", ["pooling"], size="quick", log=None)
    assert len(counted.calls) == 1


def test_damaged_stored_results_are_refused(tmp_path, counted):
    out = tmp_path / "run"
    experiments.reproduce(out, ["pooling"], size="quick", log=None)
    stored = json.loads((out / "results.json").read_text())
    del stored["experiments"]["pooling"]["numbers"]
    (out / "results.json").write_text(json.dumps(stored))
    with pytest.raises(ValueError, match="is damaged"):
        experiments.reproduce(out, ["pooling"], size="quick", log=None)


def test_the_command_line_refuses_unknown_names_in_one_line(tmp_path, capsys, counted):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["reproduce", "pooling", "tables", "--out", str(tmp_path / "r"), "--quick"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "unknown experiment 'tables': choose from paper-table, " \
        "learning-rate" in err
    assert not (tmp_path / "r").exists() and not counted.calls


def test_the_command_line_runs_and_summarises(tmp_path, capsys, counted):
    assert cli.main(["reproduce", "lottery", "--out", str(tmp_path / "r"), "--quick"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert re.match(r"lottery: \d+\.\d s on CPU, \d+ cores; 1 of 1 claims hold$", out[0])
    assert out[-1].startswith(f"wrote {tmp_path / 'r' / 'report.md'}: 1 experiments, 1 of 1 "
                              f"claims hold")


SANE = {"%": (0.0, 100.0), "points": (-100.0, 100.0), "": (0.0, 10.0)}
"""Where a quick number may lie, by unit: accuracies and errors in [0, 100], pooling's advantage
(points) within +-100, learning rates, generator arguments and losses in [0, 10]."""


@pytest.mark.slow
def test_the_smoke_run_writes_a_complete_sane_report(tmp_path, experiments_cache):
    """The command as a user runs it: every experiment at its quick size changed to its smoke
    settings (`Experiment.smoke`, through `--set`), in a fresh process (compiled as the
    notebooks' fast runs are, with the compilation cache they share)."""
    out = tmp_path / "smoke"
    env = {k: v for k, v in os.environ.items() if k != "MNIST1D_JAX_NO_CACHE"}
    env["XDG_CACHE_HOME"] = str(experiments_cache.parent.parent)
    env["XLA_FLAGS"] = FAST_XLA_FLAGS  # as the notebooks' kernels: their programs are cached
    changes = [f"--set={name}.{setting}={json.dumps(value)}"
               for name, experiment in experiments.EXPERIMENTS.items()
               for setting, value in experiment.smoke.items()]
    done = subprocess.run([sys.executable, "-m", "mnist1d_jax", "reproduce", "--quick",
                           "--out", str(out), *changes], capture_output=True, text=True,
                          timeout=900, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    names = list(experiments.EXPERIMENTS)
    assert written(out) == {"report.md", "results.json"} | {f"{n}.png" for n in names}
    assert not [f for f in os.listdir(tmp_path) if TEMP_MARK in f]
    stored = json.loads((out / "results.json").read_text())["experiments"]
    assert list(stored) == names
    for name in names:
        result = experiments.Result.from_json(stored[name])
        assert result.size == "quick" and result.key == (0, 0) and result.wall_s > 0
        assert result.changes == dict(experiments.EXPERIMENTS[name].smoke)
        assert result.numbers and result.claims
        for number in result.numbers:
            low, high = SANE[number.unit]
            assert all(np.isfinite(v) and low <= v <= high for v in number.values), \
                (name, number)
        assert (out / f"{name}.png").read_bytes().startswith(PNG_SIGNATURE)
    report = (out / "report.md").read_text()
    assert report.count("\n## ") == len(names) and report.count("](") >= len(names)
    summary = [line for line in report.splitlines() if line.startswith("| `")]
    assert [line.split("`")[1] for line in summary] == names
    assert all("| quick with " in line for line in summary)
    assert done.stdout.splitlines()[-1].startswith(f"wrote {out / 'report.md'}: 8 experiments")


def test_the_help_names_every_experiment_in_order(capsys):
    """The command line lists the names without importing the lab (which needs its extra)."""
    with pytest.raises(SystemExit):
        cli.main(["reproduce", "--help"])
    listed = re.search(r"\(default: all\):\s+(.*?)\n\s*\n", capsys.readouterr().out, re.S).group(1)
    assert re.split(r",\s+", " ".join(listed.split())) == list(experiments.EXPERIMENTS)
