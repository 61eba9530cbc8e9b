"""Property tests: any valid arguments give finite arrays of the promised shapes and dtypes."""

import jax
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import mnist1d_jax


@st.composite
def dataset_args(draw):
    low = draw(st.integers(0, 30))
    num_samples = draw(st.integers(10, 400))
    n = num_samples // 10 * 10
    split = draw(st.floats(1.0 / n + 1e-9, 1 - 1.0 / n, exclude_min=True, exclude_max=True))
    return mnist1d_jax.get_dataset_args(
        num_samples=num_samples,
        train_split=split,
        template_len=draw(st.integers(2, 40)),
        padding=(low, low + draw(st.integers(0, 30))),
        max_translation=draw(st.integers(1, 120)),
        scale_coeff=draw(st.floats(0, 2)),
        corr_noise_scale=draw(st.floats(0, 2)),
        iid_noise_scale=draw(st.floats(0, 1)),
        shear_scale=draw(st.floats(0, 3)),
        shuffle_seq=draw(st.booleans()),
        final_seq_length=draw(st.integers(2, 80)),
        seed=draw(st.integers(0, 2**32 - 1)),
    )


@pytest.mark.slow
@settings(max_examples=12, deadline=None)
@given(args=dataset_args(), key=st.integers(0, 2**31))
def test_any_valid_arguments_give_finite_arrays_of_promised_shapes(args, key):
    data = mnist1d_jax.make_dataset(jax.random.key(key), args)
    n = args.num_samples // 10 * 10
    n_train = int(n * args.train_split)
    assert 0 < n_train < n
    assert data["x"].shape == (n_train, args.final_seq_length)
    assert data["x_test"].shape == (n - n_train, args.final_seq_length)
    assert data["y"].shape == (n_train,) and data["y_test"].shape == (n - n_train,)
    assert data["t"].shape == (args.final_seq_length,)
    assert data["x"].dtype == np.float32 and data["y"].dtype == np.int32
    for key_name in ("x", "x_test", "t"):
        assert np.all(np.isfinite(np.asarray(data[key_name]))), key_name
    labels = np.concatenate([data["y"], data["y_test"]])
    np.testing.assert_array_equal(np.bincount(labels, minlength=10), [n // 10] * 10)
