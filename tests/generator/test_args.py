"""Dataset arguments: defaults, overrides, pytree behaviour, validation."""

import dataclasses
import math

import jax
import numpy as np
import pytest
from conftest import Compilations

import mnist1d_jax

REFERENCE_DEFAULTS = dict(num_samples=5000, train_split=0.8, template_len=12, padding=(36, 60),
                          scale_coeff=0.4, max_translation=48, corr_noise_scale=0.25,
                          iid_noise_scale=0.02, shear_scale=0.75, shuffle_seq=False,
                          final_seq_length=40, seed=42)


def test_defaults_are_the_reference_defaults():
    import mnist1d.data

    reference = mnist1d.data.get_dataset_args(as_dict=True)
    ours = mnist1d_jax.get_dataset_args(as_dict=True)
    assert {k: ours.pop(k) for k in ("label_noise", "test_label_noise")} == {
        "label_noise": 0.0, "test_label_noise": 0.0}  # ours only: no label noise by default
    assert ours == REFERENCE_DEFAULTS
    assert {k: (tuple(v) if k == "padding" else v) for k, v in reference.items() if k != "url"} \
        == ours


def test_overrides_immutability_and_replace():
    args = mnist1d_jax.get_dataset_args(num_samples=100, padding=[1, 2])
    assert args.num_samples == 100 and args.padding == (1, 2)
    with pytest.raises(dataclasses.FrozenInstanceError):
        args.num_samples = 10
    replaced = dataclasses.replace(args, shear_scale=0.1)
    assert replaced.shear_scale == 0.1 and args.shear_scale == 0.75
    with pytest.raises(ValueError, match="shear_scale"):
        dataclasses.replace(args, shear_scale=-1.0)


def test_pytree_leaves_are_the_fields_that_fix_no_shape():
    args = mnist1d_jax.get_dataset_args()
    assert jax.tree.leaves(args) == [0.4, 0.25, 0.02, 0.75, 48, 0.0, 0.0]
    doubled = jax.tree.map(lambda v: 2 * v, args)
    assert doubled.scale_coeff == 0.8 and doubled.num_samples == 5000 and doubled.seed == 42


def test_args_pass_into_jit_and_scales_trace():
    @jax.jit
    def f(args):
        assert isinstance(args.scale_coeff, jax.core.Tracer)
        assert args.final_seq_length == 40  # static fields stay Python values
        return args.scale_coeff * args.final_seq_length

    assert float(f(mnist1d_jax.get_dataset_args())) == pytest.approx(16.0)


@pytest.mark.slow
def test_changing_a_scale_or_seed_does_not_recompile():
    args = mnist1d_jax.get_dataset_args(num_samples=50)
    mnist1d_jax.make_dataset(jax.random.key(0), args)
    with Compilations() as counted:
        for i, value in enumerate([0.1, 0.3, 0.9]):
            changed = dataclasses.replace(args, scale_coeff=value, corr_noise_scale=value, seed=i)
            mnist1d_jax.make_dataset(jax.random.key(i), changed)
    assert counted["_generate"] == 0
    with Compilations() as counted:
        mnist1d_jax.make_dataset(jax.random.key(0), dataclasses.replace(args, num_samples=61))
    assert counted["_generate"] == 1  # a shape field does recompile


BAD = [
    (dict(num_samples=0), ValueError, "num_samples"),
    (dict(num_samples=-5), ValueError, "num_samples"),
    (dict(num_samples=1), ValueError, "num_samples"),
    (dict(num_samples=10.0), TypeError, "num_samples"),
    (dict(train_split=0.0), ValueError, "train_split"),
    (dict(train_split=1.0), ValueError, "train_split"),
    (dict(train_split=1.5), ValueError, "train_split"),
    (dict(padding=(5, 2)), ValueError, "padding"),
    (dict(padding=(-1, 2)), ValueError, "padding"),
    (dict(padding=(1, 2, 3)), TypeError, "padding"),
    (dict(padding=5), TypeError, "padding"),
    (dict(padding=(1.5, 2)), TypeError, "padding"),
    (dict(template_len=1), ValueError, "template_len"),
    (dict(final_seq_length=1), ValueError, "final_seq_length"),
    (dict(max_translation=0), ValueError, "max_translation"),
    (dict(scale_coeff=-0.1), ValueError, "scale_coeff"),
    (dict(corr_noise_scale=math.nan), ValueError, "corr_noise_scale"),
    (dict(iid_noise_scale=math.inf), ValueError, "iid_noise_scale"),
    (dict(shear_scale="big"), TypeError, "shear_scale"),
    (dict(shuffle_seq="yes"), TypeError, "shuffle_seq"),
    (dict(seed=-1), ValueError, "seed"),
    (dict(max_translation=2.5), TypeError, "max_translation"),
    (dict(label_noise=1.5), ValueError, "label_noise must be a fraction in"),
    (dict(test_label_noise=-0.1), ValueError, "test_label_noise"),
    (dict(label_noise="some"), TypeError, "label_noise"),
    (dict(num_sample=100), TypeError, "unknown dataset argument.*num_sample"),
]


@pytest.mark.parametrize("overrides, error, message", BAD, ids=lambda v: str(v)[:40])
def test_bad_arguments_raise_naming_the_argument(overrides, error, message):
    with pytest.raises(error, match=message):
        mnist1d_jax.get_dataset_args(**overrides)
    with pytest.raises(error, match=message):  # the same error through make_dataset's mapping path
        mnist1d_jax.make_dataset(jax.random.key(0), overrides)


def test_errors_name_the_allowed_range():
    with pytest.raises(ValueError, match=r"train_split must be a float in \(0, 1\)"):
        mnist1d_jax.get_dataset_args(train_split=2)
    with pytest.raises(ValueError,
                       match=r"num_samples must be an integer in \[2, 2147483647\], got 1"):
        mnist1d_jax.get_dataset_args(num_samples=1)


@pytest.mark.parametrize("overrides, message", [
    (dict(num_samples=9), "num_samples=9 is fewer than the 10 classes"),
    (dict(train_split=0.06, num_samples=19), "empty training set"),
])
def test_what_depends_on_the_class_count_is_checked_where_the_templates_are_known(overrides,
                                                                                  message):
    args = mnist1d_jax.get_dataset_args(**overrides)  # valid for two classes
    with pytest.raises(ValueError, match=message):
        mnist1d_jax.make_dataset(jax.random.key(0), args)
    two = mnist1d_jax.make_templates(np.eye(2, 5))
    data = mnist1d_jax.make_dataset(jax.random.key(0), args, templates=two)
    assert len(data["y"]) + len(data["y_test"]) == 2 * (args.num_samples // 2)


def test_numpy_scalars_are_accepted():
    args = mnist1d_jax.get_dataset_args(num_samples=np.int64(100), scale_coeff=np.float32(0.5))
    assert args.num_samples == 100 and isinstance(args.num_samples, int)


def test_jit_seedless_compiles_once_for_every_seed_and_keeps_the_seed_outside():
    traces = []

    @mnist1d_jax.args.jit_seedless
    def scaled(args, x):
        traces.append(args.seed)
        return x * args.scale_coeff

    args = mnist1d_jax.get_dataset_args(num_samples=100)
    for seed in (1, 2, 3):
        assert float(scaled(args.replace(seed=seed), 2.0)) == pytest.approx(2 * args.scale_coeff)
    assert traces == [0]  # traced once, with the seed set aside
    assert args.replace(seed=5).seed == 5
    lowered = scaled.lower(args.replace(seed=9), 1.0)
    assert "f32" in lowered.as_text()
    assert float(lowered.compile()(args.replace(seed=4), 1.0)) == pytest.approx(args.scale_coeff)
