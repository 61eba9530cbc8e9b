"""No valid-looking input crashes the process or eats the machine: every argument has an upper
bound checked before tracing, the cost of a large `max_translation` does not grow with it, and
sizes that cannot fit in memory or on disk are refused up front."""

import dataclasses
import shutil
import subprocess
import sys
import textwrap

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import mnist1d_jax
from mnist1d_jax import chunked, recipe, stats, transforms
from mnist1d_jax.templates import get_templates

TOO_LARGE = [
    (dict(num_samples=10**13), ValueError, r"num_samples must be an integer in \[2, 2147483647\]"),
    (dict(template_len=4097), ValueError, r"template_len must be an integer in \[2, 4096\]"),
    (dict(padding=(36, 10**6)), ValueError, r"0 <= low <= high <= 4096"),
    (dict(padding=(0, 4000), template_len=4000), ValueError,
     "needs a table of 2 classes x 4001 paddings"),
    (dict(max_translation=2**24 + 1), ValueError,
     r"max_translation must be an integer in \[1, 16777216\]"),
    (dict(final_seq_length=10**5), ValueError,
     r"final_seq_length must be an integer in \[2, 4096\]"),
    (dict(seed=2**32), ValueError, r"seed must be an integer in \[0, 4294967295\]"),
    (dict(iid_noise_scale=1e30), ValueError,
     r"iid_noise_scale must be a finite float in \[0, 1e\+06\]"),
    (dict(scale_coeff=1e39), ValueError, "scale_coeff must be a finite float"),
    (dict(shear_scale=np.float32(np.inf)), ValueError, "shear_scale must be a finite float"),
    (dict(corr_noise_scale="0.3"), TypeError, "corr_noise_scale must be a finite float"),
    (dict(iid_noise_scale=b"1"), TypeError, "iid_noise_scale must be a finite float"),
    (dict(scale_coeff=np.bool_(True)), TypeError, "scale_coeff must be a finite float"),
    (dict(train_split=np.float64("nan")), ValueError, r"train_split must be a float in \(0, 1\)"),
    (dict(train_split="0.5"), TypeError, "train_split must be a float"),
    (dict(shuffle_seq=2), TypeError, "shuffle_seq must be a bool"),
]


@pytest.mark.parametrize("overrides, error, message", TOO_LARGE, ids=lambda v: str(v)[:30])
def test_out_of_range_arguments_are_refused_by_name(overrides, error, message):
    with pytest.raises(error, match=message):
        mnist1d_jax.get_dataset_args(**overrides)


def test_numpy_booleans_and_scalars_are_accepted():
    args = mnist1d_jax.get_dataset_args(shuffle_seq=np.bool_(True), train_split=np.float32(0.5),
                                        seed=np.uint32(7), iid_noise_scale=np.float16(0.5))
    assert args.shuffle_seq is True and args.seed == 7 and args.train_split == 0.5
    assert isinstance(args.iid_noise_scale, float)


def test_dtype_none_gets_the_right_message():
    for call in (lambda: mnist1d_jax.make_dataset(jax.random.key(0), None, dtype=None),
                 lambda: mnist1d_jax.sample_batch(jax.random.key(0), None, 8, dtype=None),
                 lambda: mnist1d_jax.reference_dataset(None, dtype=None)):
        with pytest.raises(ValueError, match="dtype must be .?float32.? or .?float64"):
            call()


def test_sizes_that_cannot_fit_in_memory_are_refused_before_tracing(monkeypatch):
    traced = []
    monkeypatch.setattr(jax.random, "split", lambda *a: traced.append(1))
    huge = mnist1d_jax.get_dataset_args(num_samples=2**31 - 1)
    with pytest.raises(ValueError, match=r"make_dataset with num_samples=2147483647 needs about "
                                         r"[\d.]+ GB of memory.*in chunks"):
        mnist1d_jax.make_dataset(jax.random.key(0), huge)
    with pytest.raises(ValueError, match="reference_dataset with num_samples=2147483647"):
        mnist1d_jax.reference_dataset(huge)
    with pytest.raises(ValueError, match="sample_batch with batch_size=2147483647"):
        mnist1d_jax.sample_batch(jax.random.key(0), None, 2**31 - 1)
    with pytest.raises(ValueError, match=r"batch_size must be an integer in \[1, 2147483647\]"):
        mnist1d_jax.sample_batch(jax.random.key(0), None, 2**31)
    assert traced == []


@pytest.mark.parametrize("settings", [{}, {"padding": [100, 200]},
                                      {"final_seq_length": 20, "padding": [50, 90]}])
def test_the_memory_estimate_covers_the_compiled_program_and_little_more(settings):
    """The estimate behind the memory check against XLA's own buffer assignment of the compiled
    `sample_batch` program on this platform: never below it (no out-of-memory let through),
    at most a fifth above it (no size refused that fits)."""
    args = mnist1d_jax.get_dataset_args(**settings)
    n = 20_000
    program = jax.jit(lambda key: mnist1d_jax.sample_batch(key, args, n))
    memory = program.lower(jax.random.key(0)).compile().memory_analysis()
    measured = (memory.temp_size_in_bytes + memory.output_size_in_bytes) / n
    estimate = recipe.example_bytes(args.layout, np.float32, jax.default_backend())
    assert measured <= estimate <= 1.2 * measured


def test_a_folder_larger_than_the_free_disk_is_refused_before_writing(tmp_path, monkeypatch):
    usage = shutil.disk_usage(tmp_path)
    monkeypatch.setattr(shutil, "disk_usage", lambda path: usage._replace(free=10**9))
    args = mnist1d_jax.get_dataset_args(num_samples=300_000_000)
    with pytest.raises(ValueError, match=r"300,000,000 examples need 49.2 GB on disk, but only "
                                         r"1.0 GB are free"):
        chunked.write_dataset(tmp_path / "d", None, args)
    assert list(tmp_path.iterdir()) == []


def _brute_force_moments(args, templates_x):
    """The population constants by enumerating every class, padding and shift `< K` (the
    definition; memory C P K L, so only for small layouts)."""
    layout = args.layout
    n, width = layout.dilated_len, layout.final_seq_length
    bank = transforms.dilation_bank(templates_x, layout.padding, n)
    shifts = np.arange(args.max_translation)
    index = (np.arange(n)[None, :] - np.where(shifts < n, shifts, 0)[:, None]) % n
    d = bank[:, :, index].reshape(-1, n)
    resample = np.stack([transforms.subsample(row, width) for row in np.eye(n)], axis=1)
    filt = transforms.gaussian_filter_matrix(n)
    signal = d @ resample.T
    mask = (d == 0).astype(float)
    quadratic = (resample.T @ resample) * (filt @ filt.T)
    ramp = resample @ np.linspace(-0.5, 0.5, n)
    return (signal.mean(), (signal**2).sum(1).mean(),
            np.einsum("na,ab,nb->n", mask, quadratic, mask).mean(), (resample**2).sum(),
            ramp @ ramp)


def _moments(args, templates_x=None):
    templates_x = get_templates()["x"] if templates_x is None else templates_x
    bank = transforms.dilation_bank(templates_x, args.padding, args.layout.dilated_len)
    return stats.moments(args.layout, bank, args.max_translation)


SHAPES = np.random.default_rng(0).normal(size=(20, 16))


@pytest.mark.parametrize("overrides, shapes", [
    ({}, None), (dict(max_translation=200), None),
    (dict(padding=(0, 5), template_len=3, max_translation=7, final_seq_length=50), None),
    (dict(padding=(2, 3), template_len=5, final_seq_length=2, max_translation=9), None),
    (dict(padding=(3, 9), max_translation=30), SHAPES),
    (dict(padding=(0, 4), template_len=8, max_translation=5), SHAPES[:2, :8]),
], ids=["default", "shift 200", "short", "two points", "20 classes, 16 points", "2 classes"])
def test_exact_statistics_equal_the_enumeration_of_every_shift(overrides, shapes):
    args = mnist1d_jax.get_dataset_args(**overrides)
    templates_x = None if shapes is None else mnist1d_jax.make_templates(shapes)["x"]
    expected = _brute_force_moments(args, get_templates()["x"] if shapes is None else templates_x)
    np.testing.assert_allclose(_moments(args, templates_x), expected, rtol=1e-12, atol=1e-15)


@pytest.mark.slow
def test_statistics_of_a_traced_max_translation_and_templates_equal_the_concrete_ones():
    args = mnist1d_jax.get_dataset_args(max_translation=30)
    templates = mnist1d_jax.make_templates(SHAPES)
    concrete = mnist1d_jax.population_statistics(args, templates)
    traced = jax.jit(lambda shift, x: mnist1d_jax.population_statistics(
        args.replace(max_translation=shift), {"x": x}))(30, jnp.asarray(templates["x"]))
    np.testing.assert_allclose(np.array(traced), np.array(concrete), rtol=2e-5)
    assert not np.allclose(np.array(jax.jit(lambda shift: mnist1d_jax.population_statistics(
        args.replace(max_translation=shift), templates))(5)), np.array(concrete), rtol=1e-3)


def test_statistics_of_a_huge_max_translation_cost_what_the_signal_length_costs():
    args = mnist1d_jax.get_dataset_args(max_translation=10**6)
    equivalent = _moments(dataclasses.replace(args, max_translation=72))
    huge = _moments(args)
    # every shift >= 72 acts like shift 0: the mixture weights move, nothing is enumerated
    assert huge.iid == equivalent.iid and huge.shear == equivalent.shear
    assert abs(huge.signal - equivalent.signal) / equivalent.signal > 1e-3
    batch = mnist1d_jax.sample_batch(jax.random.key(0), args, 64)
    assert np.isfinite(np.asarray(batch["x"])).all()


MEMORY = textwrap.dedent("""
    import resource, jax, mnist1d_jax
    args = mnist1d_jax.get_dataset_args(max_translation=10**6)
    mnist1d_jax.sample_batch(jax.random.key(0), args, 1000)["x"].block_until_ready()
    print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024)
""")


@pytest.mark.slow
def test_a_huge_max_translation_stream_stays_small():
    result = subprocess.run([sys.executable, "-c", MEMORY], capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr
    assert int(result.stdout.split()[-1]) < 2000  # MB; the old enumeration wanted 134 GiB


@pytest.mark.slow
def test_extreme_but_valid_scales_give_finite_normalised_data():
    args = mnist1d_jax.get_dataset_args(num_samples=200, iid_noise_scale=1e6, scale_coeff=1e6,
                                        corr_noise_scale=1e6, shear_scale=1e6)
    data = mnist1d_jax.make_dataset(jax.random.key(0), args)
    x = np.concatenate([data["x"], data["x_test"]])
    assert np.isfinite(x).all() and abs(x.std() - 1) < 1e-3
    batch = mnist1d_jax.sample_batch(jax.random.key(0), args, 5000)
    assert np.isfinite(np.asarray(batch["x"])).all()
    assert 0.5 < float(jnp.std(batch["x"])) < 2


def test_the_population_table_gives_the_moments_of_every_max_translation():
    """Rows for max_translation <= L, the closed form beyond, traced or not: each the exact
    moments of that max_translation (`stats.moments`, tested against the enumeration above)."""
    args = mnist1d_jax.get_dataset_args(padding=(2, 6), template_len=4, final_seq_length=9)
    n = args.layout.dilated_len
    bank = transforms.dilation_bank(get_templates()["x"], args.padding, n)
    with jax.enable_x64(True):
        table = stats.population_table(args.layout, bank)
        for shift in (1, 2, n - 1, n, n + 1, 37, 10**6):
            m = stats.moments(args.layout, bank, shift)
            width = args.final_seq_length
            expected = [m.mean, m.signal / width - m.mean**2, m.signal / 12 / width,
                        m.corr / width, m.iid / width, m.shear / 12 / width]
            for got in (stats.population_at(table, shift, width),
                        jax.jit(stats.population_at, static_argnums=2)(table, shift, width)):
                np.testing.assert_allclose(np.array(got), expected, rtol=1e-12, atol=1e-15)
