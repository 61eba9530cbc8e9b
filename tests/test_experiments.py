"""The experiments as functions (`lab.experiments`): results to JSON and back, checks before any
work, progress by stages, the report's content, and the t-SNE they draw with. Each experiment
runs whole in the `reproduce --quick` test (test_reproduce.py) and in its notebook."""

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


@pytest.mark.parametrize("name", list(experiments.RUN))
def test_each_experiment_checks_key_and_size_before_any_work(name, monkeypatch):
    def no_work(*args, **kwargs):
        raise AssertionError("work started before the checks")

    monkeypatch.setattr(experiments.EXPERIMENTS[name], "reference_dataset", no_work)
    run = experiments.RUN[name]
    with pytest.raises(ValueError, match=r"size must be one of \('quick', 'full'\); got 'big'"):
        run(jax.random.key(0), "big")
    with pytest.raises(TypeError, match="key"):
        run(0, "quick")


def test_every_experiment_is_registered_once_with_its_parts():
    assert list(experiments.EXPERIMENTS) == [
        "paper-table", "learning-rate", "activation", "double-descent", "pooling", "lottery",
        "self-supervised", "metalearned-data"]
    for name, module in experiments.EXPERIMENTS.items():
        assert module.NAME == name and module.TITLE and callable(module.draw)
        seconds, source = module.REFERENCE_TIME
        assert (seconds is None or seconds > 0) and source
        assert set(module.SIZES) == set(experiments.SIZES)


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
    assert "| `learning-rate` | quick | CPU, 2 cores | 12 s | 90 s | 1 of 2 |" in text
    assert "jax.random.key(7)" in text
    assert made_up()._repr_markdown_() in text


def test_a_stored_result_draws_its_figure_again():
    figure = made_up().figure()
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
