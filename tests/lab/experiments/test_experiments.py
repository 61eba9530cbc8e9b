"""The experiments as functions (`lab.experiments`): results to JSON and back, checks before any
work, progress by stages, the report's content, and the t-SNE they draw with. Each experiment
runs whole in the `reproduce --quick` test (test_reproduce.py) and in its notebook."""

import dataclasses
import json
import re

import jax
import numpy as np
import pytest

from mnist1d_jax.lab import experiments, tsne
from mnist1d_jax.lab.experiments import Claim, Number, Result, report
from mnist1d_jax.lab.experiments.base import Stages


def made_up(name="learning-rate", size="quick") -> Result:
    """A result as `learning_rate` returns it, with numbers written here."""
    arrays = {f"{lr}/{field}": np.linspace(0, 1, 6, dtype=np.float32)
              for lr in (1.5, 0.15) for field in ("learning_rate", "outer_loss",
                                                  "final_inner_loss")}
    return Result(name, size, (0, 7),
                  [Number("learning rate learned from 1.5", [0.6, 0.64], 0.62, ""),
                   Number("a percentage", [80.0], None)],
                  [Claim("both end near 0.62", True, "0.620"), Claim("a failing one", 0, "no")],
                  arrays, wall_s=12.5, device="CPU, 2 cores")


def test_a_result_is_plain_data_that_imports_nothing_of_the_registry():
    """`result.py` imports at module level only the schema and the seed bound of this package
    (and the standard library's `typing`): nothing that knows experiments (the registry, the
    report), so that nothing there imports it back."""
    import ast
    import inspect

    from mnist1d_jax.lab.experiments import result

    tree = ast.parse(inspect.getsource(result))
    imported = {node.module for node in tree.body if isinstance(node, ast.ImportFrom)}
    assert imported == {"__future__", "typing", "args", None}, imported  # `from . import schema`
    assert {alias.name for node in tree.body if isinstance(node, ast.ImportFrom)
            and node.module is None for alias in node.names} == {"schema"}


def test_a_number_has_mean_spread_and_difference():
    number = Number("x", [1.0, 3.0], 1.5)
    assert (number.mean, number.spread, number.difference) == (2.0, 1.0, 0.5)
    assert Number("y", [4.0]).difference is None and Number("y", [4.0]).spread == 0.0


def test_a_result_goes_to_json_and_back_unchanged():
    result = made_up()
    text = json.dumps(result.to_json())
    back = Result.from_json(json.loads(text))
    assert back.to_json() == result.to_json()
    assert back.number("a percentage").values == (80.0,)
    assert back.arrays["1.5/outer_loss"].dtype == np.float32
    assert back.claims[1].holds is False
    with pytest.raises(KeyError, match="reports no number 'b'"):
        back.number("b")


@pytest.mark.parametrize("damage, field", [
    (lambda v: v.pop("numbers"), "result lacks 'numbers'"),
    (lambda v: v.update(size="huge"), "result.size must be one of"),
    (lambda v: v["arrays"]["1.5/outer_loss"].update(shape=[7]),
     "result.arrays['1.5/outer_loss'].data holds 6 values for shape [7]")])
def test_a_damaged_result_is_refused(damage, field):
    value = made_up().to_json()
    damage(value)
    with pytest.raises(ValueError, match=re.escape(field)):
        Result.from_json(value)


@pytest.mark.parametrize("name", list(experiments.EXPERIMENTS))
def test_each_experiment_checks_key_size_and_changes_before_any_work(name):
    def no_work(*args, **kwargs):
        raise AssertionError("work started before the checks")

    experiment = dataclasses.replace(experiments.EXPERIMENTS[name], run=no_work)
    with pytest.raises(ValueError, match=r"size must be one of \('quick', 'full'\); got 'big'"):
        experiment(jax.random.key(0), "big")
    with pytest.raises(TypeError, match="key"):
        experiment(0, "quick")
    with pytest.raises(ValueError, match=f"{name} has no setting 'nonsense'; it has "):
        experiment(jax.random.key(0), "quick", nonsense=1)


def test_every_experiment_is_registered_once_with_its_parts():
    assert list(experiments.EXPERIMENTS) == [
        "paper-table", "learning-rate", "activation", "double-descent", "pooling", "lottery",
        "self-supervised", "metalearned-data"]
    for name, experiment in experiments.EXPERIMENTS.items():
        assert experiment.name == name and experiment.title and callable(experiment.draw)
        seconds, source = experiment.reference_time
        assert (seconds is None or seconds > 0) and source
        assert set(experiment.sizes) == set(experiments.SIZES)
        for size in experiments.SIZES:  # each size's own settings pass the checks of a change
            assert experiment.settings(size, **experiment.sizes[size]) == experiment.settings(size)
    with pytest.raises(ValueError, match="'pooling' is already registered"):
        experiments.register(experiments.pooling)


@pytest.mark.parametrize("changes, error", [
    (dict(seeds=0), "pooling setting seeds must be in [1, 10,000,000]; got 0"),
    (dict(seeds=2.0), "pooling setting seeds must be an integer; got 2.0"),
    (dict(seeds=True), "pooling setting seeds must be an integer; got True"),
    (dict(sizes=[5]), "pooling setting sizes must take its values from [10, 100000]; got 5"),
    (dict(sizes=[300, 300]), "pooling setting sizes must not repeat an element"),
    (dict(sizes=[]), "pooling setting sizes must be a list of 1 to 1000 elements"),
    (dict(sizes=None), "pooling setting sizes may not be None"),
    (dict(steps="60"), "pooling setting steps must be an integer; got '60'")])
def test_a_change_is_checked_against_its_setting(changes, error):
    with pytest.raises((TypeError, ValueError), match=re.escape(error)):
        experiments.pooling.settings("quick", **changes)


def test_a_derived_size_changes_only_what_it_names_and_records_it():
    seen = []

    def run(key, settings, progress):
        seen.append(settings)
        return experiments.base.outcome([], [], {})

    double_descent = dataclasses.replace(experiments.double_descent, run=run)
    result = double_descent(jax.random.key(3), "full", seeds=5, picks=(0, 18))
    assert seen == [{"seeds": 5, "epochs": 500, "picks": [0, 18], "channel_picks": None}]
    assert (result.size, result.changes) == ("full", {"seeds": 5, "picks": [0, 18]})
    back = Result.from_json(json.loads(json.dumps(result.to_json())))
    assert back.changes == result.changes and back.identity == result.identity
    same = double_descent(jax.random.key(3), "full", epochs=500)  # no change at all
    assert same.changes == {} and same.identity != result.identity
    text = report.render({"double-descent": result})
    assert "| `double-descent` | full with seeds=5, picks=\\[0, 18\\] |" in text
    with pytest.raises(ValueError, match=re.escape("picks must take its values from [0, 18]")):
        double_descent(jax.random.key(3), "full", picks=[19])


def test_a_researchers_own_experiment_registers_runs_and_draws(monkeypatch):
    """An experiment written outside the package: registered, run at a derived size, drawn by
    `figure`, reported with its title and reference time."""
    def run(key, settings, progress):
        values = jax.random.uniform(key, (settings["seeds"],)) * settings["scale"]
        return experiments.base.outcome(
            [Number("a draw", values, 0.5, "")],
            [Claim("draws stay below the scale", bool((values < settings["scale"]).all()), "")],
            {"values": values})

    def draw(result):
        figure, axes = experiments.base.new_figure(2, 2)
        axes[0, 0].plot(result.arrays["values"])
        return figure

    mine = experiments.Experiment(
        name="mine", title="My own", run=run, draw=draw,
        sizes={"quick": {"seeds": 2, "scale": 1.0}, "full": {"seeds": 8, "scale": 1.0}},
        figure_arrays={"values": 1}, reference_time=(60.0, "a guess"))
    monkeypatch.setitem(experiments.EXPERIMENTS, "mine", None)  # the registry is restored after
    monkeypatch.delitem(experiments.EXPERIMENTS, "mine")
    experiments.register(mine)
    result = experiments.EXPERIMENTS["mine"](jax.random.key(1), "quick", scale=2.5)
    assert result.changes == {"scale": 2.5} and result.number("a draw").values[0] <= 2.5
    assert len(result.number("a draw").values) == 2
    assert len(experiments.figure(result).axes) == 1
    text = report.render({"mine": result})
    assert "## My own (`mine`)" in text and "60 s" not in text  # quick: no time compared
    assert "| 0.500 | +0.715 | - |" in text  # nor judged against the full size's reference
    full = mine(jax.random.key(1), "full", seeds=3)  # changed: the time is still not compared
    assert "60 s" not in report.render({"mine": full})
    full = mine(jax.random.key(1), "full")
    values = np.asarray(full.number("a draw").values)
    assert full.number("a draw").tolerance == max(3.0, 2 * values.std())  # the default rule
    text = report.render({"mine": full})
    assert ("The reference: 60 s (a guess). A number reproduces the reference's when it differs "
            "from it by at most the larger of 3 and 2 times the spread over seeds." in text)
    assert "| within ±3.000 |" in text and "| 1 of 1 | 1 of 1 |" in text
    with pytest.raises(ValueError, match="scale must be a finite number"):
        mine(jax.random.key(1), "quick", scale=float("nan"))


def test_stages_report_work_done_out_of_the_total():
    seen = []
    stages = Stages(lambda *a: seen.append(a), {"a": 1, "b": 3})
    with stages("a"):
        pass
    stages.start("b")
    stages.finish("b")
    assert seen == [("a", 0.0, 4.0), ("a", 1.0, 4.0), ("b", 1.0, 4.0), ("b", 4.0, 4.0)]


def test_the_report_shows_numbers_reference_difference_claims_and_figure():
    text = report.render({"learning-rate": made_up()})
    assert "| learning rate learned from 1.5 | 0.620 ± 0.020 (2 seeds) | 0.620 | +0.000 |" in text
    assert "| a percentage | 80.0 | - | - |" in text
    assert "- holds: both end near 0.62 (0.620)" in text
    assert "- **does not hold**: a failing one (no)" in text
    assert "![learning-rate](learning-rate.png)" in text
    assert "| `learning-rate` | quick | CPU, 2 cores | 12 s | - | 1 of 2 | - |" in text
    assert "jax.random.key(7)" in text
    shown = made_up()._repr_markdown_()  # a notebook's view: the same, without the registry's
    assert shown.split("\n", 1)[1] in text and "The reference" not in shown  # reference time


def test_the_report_judges_each_number_and_names_undecided_claims():
    full = made_up(size="full")
    full.numbers[:] = [Number("near", [0.6, 0.64], 0.62, "", tolerance=0.05),
                       Number("far", [0.7], 0.62, "", tolerance=0.05, note="a known cause"),
                       Number("new", [80.0], None)]
    full.claims.append(Claim("needs more steps", False, "1 < 2", at_size=False))
    text = report.render({"learning-rate": full})
    assert "| near | 0.620 ± 0.020 (2 seeds) | 0.620 | +0.000 | within ±0.050 |" in text
    assert "| far | 0.700 | 0.620 | +0.080 | **outside** ±0.050; a known cause |" in text
    assert "| new | 80.0 | - | - | - |" in text
    assert "- undecided at this size: needs more steps (1 &lt; 2)" in text
    assert ("| `learning-rate` | full | CPU, 2 cores | 12 s | 90 s | "
            "1 of 3 (1 undecided at this size) | 1 of 2 |") in text
    assert "by at most the larger of 0.05 and 2 times the spread over seeds." in text
    assert Result.from_json(json.loads(json.dumps(full.to_json()))).to_json() == full.to_json()


def test_a_stored_result_draws_its_figure_again():
    figure = experiments.figure(made_up())
    assert len(figure.axes) == 3 and figure.axes[2].get_title() == "learning rate"


def blobs(n_per, dims=10, centres=3, seed=0):
    rng = np.random.default_rng(seed)
    means = rng.normal(0, 10, (centres, dims))
    x = np.concatenate([m + rng.normal(0, 1, (n_per, dims)) for m in means]).astype(np.float32)
    return x, np.repeat(np.arange(centres), n_per)


def test_tsne_keeps_separate_clusters_separate_and_is_deterministic():
    x, labels = blobs(40)
    a = tsne.tsne(x, perplexity=10, iterations=300)
    assert a.shape == (120, 2) and np.isfinite(a).all()
    np.testing.assert_array_equal(a, tsne.tsne(x, perplexity=10, iterations=300))
    centres = np.stack([a[labels == c].mean(0) for c in range(3)])
    nearest = np.argmin(((a[:, None] - centres[None]) ** 2).sum(-1), 1)
    assert (nearest == labels).all()  # every point nearest to its own cluster's centre
    within = max(np.linalg.norm(a[labels == c] - centres[c], axis=1).max() for c in range(3))
    between = min(np.linalg.norm(centres[i] - centres[j]) for i in range(3) for j in range(i))
    assert between > 2 * within


def test_tsne_of_identical_rows_is_finite():
    for x in (np.ones((12, 3)), np.zeros((12, 5)), np.full((12, 2), 1e30)):
        embedded = tsne.tsne(x, perplexity=2, iterations=50)
        assert embedded.shape == (12, 2) and np.isfinite(embedded).all()


@pytest.mark.parametrize("scale", [2.0**-120, 2.0**-100, 2.0**64, 2.0**90, 2.0**1000])
def test_tsne_of_any_finite_scale_is_the_embedding_at_unit_scale(scale):
    """Powers of two scale exactly, so the embedding must be the same to the bit (below about
    1e-30 and above about 1e19 float32 distances vanish or overflow without the rescaling)."""
    x = blobs(8, dims=4)[0].astype(np.float64)
    unit = tsne.tsne(x, perplexity=5, iterations=100)
    scaled = tsne.tsne(x * scale, perplexity=5, iterations=100)
    assert np.isfinite(scaled).all()
    np.testing.assert_array_equal(scaled, unit)


@pytest.mark.parametrize("kwargs, message", [
    (dict(x=np.zeros((10, 1))), "at least 2 features"),
    (dict(x=np.zeros((10, 0))), "at least 2 features"),
    (dict(x=np.zeros((1, 5))), "at least 4 rows"),
    (dict(x=np.zeros((3, 2))), "at least 4 rows"),
    (dict(x=np.zeros((20, 2)), perplexity=10), "perplexity"),
    (dict(x=np.zeros((100, 2)), iterations=0), "iterations"),
    (dict(x=np.zeros(20)), "x")])
def test_tsne_checks_its_arguments(kwargs, message):
    x = kwargs.pop("x")
    with pytest.raises((ValueError, TypeError), match=message):
        tsne.tsne(x, **kwargs)


def test_kept_neighbours_counts_kept_weights_whose_next_input_is_kept():
    from mnist1d_jax.lab.experiments.lottery_tickets import kept_neighbours, random_neighbours

    mask = np.zeros((6, 2), bool)
    mask[[0, 1, 2], 0] = True  # rows 0 and 1 have their next row kept, row 2 not
    mask[[1, 4], 1] = True  # neither
    assert kept_neighbours(mask) == pytest.approx(100 * 2 / 5)  # of the 5 kept in rows 0..4
    rng = np.random.default_rng(0)
    sparse = rng.random((40, 300)) < 0.1
    chance = random_neighbours(jax.random.key(0), sparse, count=50)
    assert chance.shape == (50,) and abs(chance.mean() - 10) < 1  # the density, in percent
    blocky = np.repeat(rng.random((20, 300)) < 0.1, 2, axis=0)  # kept in adjacent pairs
    assert kept_neighbours(blocky) > 50 > chance.max()


def test_a_tolerance_is_the_largest_of_its_floor_spread_and_share():
    from mnist1d_jax.lab.experiments import Tolerance

    spread = Number("n", [60.0, 64.0], 70.0)  # spread 2
    assert Tolerance(3.0).of(spread) == 4.0  # twice the spread beats the floor
    assert Tolerance(5.0).of(spread) == 5.0
    assert Tolerance(0.0, spreads=0.0, relative=0.25).of(Number("r", [1.0], 0.8, "")) == 0.2
    judged = Tolerance(3.0).judge([spread, Number("no reference", [1.0]),
                                   Number("given", [1.0], 2.0, tolerance=0.5)])
    assert [n.tolerance for n in judged] == [4.0, None, 0.5]
    assert [n.within for n in judged] == [False, None, False]
    assert Tolerance(3.0).describe() == "the larger of 3 and 2 times the spread over seeds"
    assert Tolerance(0.0, spreads=0.0, relative=0.25).describe() == "25% of the reference's value"
    assert Tolerance(0.5, spreads=0.0).describe() == "0.5"
    with pytest.raises(ValueError, match="Tolerance.floor"):
        Tolerance(-1.0)
