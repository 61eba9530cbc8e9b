"""The lab's CPU helpers: JAX's threefry key derivation restated on the host (bit for bit),
runs side by side (`cpu.run_all`), and the lab's compiler options."""

import functools
import os
import threading
import time

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from mnist1d_jax.lab.parallel import cpu
from mnist1d_jax.lab.sweeps import host_keys


def test_host_fold_in_and_bits_are_jaxs_bit_for_bit():
    rng = np.random.default_rng(0)
    data = rng.integers(0, 2**32, (6, 2), dtype=np.uint32)  # raw threefry keys
    values = np.array([0, 1, 7, 2**31, 2**32 - 1], np.uint32)
    for raw in data:
        key = jax.random.wrap_key_data(raw)
        for value in values:
            expected = np.asarray(jax.random.key_data(jax.random.fold_in(key, value)))
            np.testing.assert_array_equal(host_keys.fold_in(raw, value), expected)
        np.testing.assert_array_equal(host_keys.bits(raw, (8, 4)),
                                      np.asarray(jax.random.bits(key, (8, 4), jnp.uint32)))
    # arrays of keys and of data broadcast: (6, 1, 2) keys x (5,) values -> (6, 5, 2)
    folded = host_keys.fold_in(data[:, None], values)
    assert folded.shape == (6, 5, 2)
    np.testing.assert_array_equal(folded[4, 2], host_keys.fold_in(data[4], values[2]))
    batched = jax.vmap(lambda raw: jax.random.bits(jax.random.wrap_key_data(raw), (3, 5),
                                                   jnp.uint32))(data)
    np.testing.assert_array_equal(host_keys.bits(data, (3, 5)), np.asarray(batched))


def test_run_all_keeps_the_order_and_runs_side_by_side():
    inside, most = [0], [0]
    lock = threading.Lock()

    def work(i, stop):
        with lock:
            inside[0] += 1
            most[0] = max(most[0], inside[0])
        time.sleep(0.05)
        with lock:
            inside[0] -= 1
        return i * i

    assert cpu.run_all(work, range(6), max_workers=3) == [0, 1, 4, 9, 16, 25]
    assert most[0] == 3
    most[0] = 0
    assert cpu.run_all(work, range(4), max_workers=1) == [0, 1, 4, 9] and most[0] == 1


def test_run_all_raises_the_first_error_and_checks_workers():
    def work(i, stop):
        if i == 2:
            raise KeyError("two")
        return i

    with pytest.raises(KeyError, match="two"):
        cpu.run_all(work, range(5), max_workers=2)
    with pytest.raises(ValueError, match="max_workers must be a positive integer"):
        cpu.run_all(work, range(5), max_workers=0)


@pytest.mark.parametrize("failure", [KeyError("one"), KeyboardInterrupt()])
def test_a_failure_stops_the_other_running_calls_at_their_next_safe_point(failure):
    """Call 1 fails (an error, or Ctrl-C raised in a call) while call 0 runs a long loop with a
    safe point per step: call 0 ends within a step or two, not after its 200 steps."""
    steps = []

    def work(i, stop):
        if i == 1:
            time.sleep(0.05)
            raise failure
        for step in range(200):
            cpu.check_stop(stop)
            steps.append(step)
            time.sleep(0.01)
        return i

    started = time.perf_counter()
    with pytest.raises(type(failure)):
        cpu.run_all(work, range(2), max_workers=2)
    assert len(steps) < 50 and time.perf_counter() - started < 1.5, len(steps)


def test_workers_are_the_cores_on_a_cpu():
    assert jax.devices()[0].platform == "cpu"
    assert cpu.workers() == len(os.sched_getaffinity(0))


def test_compiler_options_compile_and_give_the_same_numbers(monkeypatch):
    assert cpu.compiler_options() == cpu.OPTIONS  # this XLA knows them
    x = jnp.asarray(np.random.default_rng(1).normal(size=(64, 40)), jnp.float32)
    w = jnp.asarray(np.random.default_rng(2).normal(size=(40, 30)), jnp.float32)
    f = jax.jit(lambda x, w: jax.nn.relu(x @ w).sum(0))
    tuned = cpu.compile_lowered(f.lower(x, w))
    np.testing.assert_allclose(tuned(x, w), f(x, w), rtol=1e-5)
    # an XLA without the option: none, and nothing fails
    cpu.compiler_options.cache_clear()
    monkeypatch.setattr(cpu, "OPTIONS", {"xla_cpu_no_such_option_for_this_test": ""})
    try:
        assert cpu.compiler_options() == {}
    finally:
        cpu.compiler_options.cache_clear()


@functools.partial(jax.jit, static_argnames=("power",))
def _runs_program(keys, offsets, shift, power: int):
    """Per run: a draw of its key, raised to `power`, plus its offset and the shared shift."""
    return {"value": jax.vmap(lambda k, o: jax.random.uniform(k) ** power + o + shift)(
        keys, offsets), "rows": jnp.full(offsets.shape, offsets.shape[0])}


@pytest.mark.parametrize("count, max_workers, size", [(5, 2, 3), (4, 2, 2), (3, 1, 3),
                                                      (1, 4, 1)])
def test_run_grouped_splits_the_runs_into_equal_groups_and_joins_them_in_order(count,
                                                                              max_workers, size):
    keys = jax.random.split(jax.random.key(3), count)
    offsets = jnp.arange(count, dtype=jnp.float32) * 10
    out = cpu.run_grouped(_runs_program, (keys, offsets), (jnp.float32(0.5),), {"power": 2},
                          max_workers)
    expected = np.asarray([jax.random.uniform(k) ** 2 for k in keys]) + np.arange(count) * 10
    np.testing.assert_allclose(out["value"], expected + 0.5, rtol=1e-6)
    assert isinstance(out["value"], np.ndarray) and out["value"].shape == (count,)
    np.testing.assert_array_equal(out["rows"], size)  # each group's program saw `size` runs
