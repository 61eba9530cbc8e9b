"""The lab's training core: the configuration base and its evaluation schedule, the one
batching function, the one step builder; the layers' PyTorch initialisation and width padding."""


import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from flax import nnx

from mnist1d_jax.lab import nn, training


def test_the_schedule_names_the_updates_followed_by_an_evaluation():
    loop = training.LoopConfig(total_steps=6, eval_every=2)
    assert loop.schedule(7) == training.Schedule(0, 2, 4)
    assert loop.eval_steps.tolist() == [0, 2, 4, 6]
    eight = training.LoopConfig(total_steps=7, eval_every=2).schedule(8)
    assert eight == training.Schedule(0, 2, 4)


@pytest.mark.parametrize("kwargs, message", [
    (dict(learning_rate=0.0), "learning_rate"), (dict(batch_size=0), "batch_size"),
    (dict(eval_every=-1), "eval_every"), (dict(total_steps=0), "total_steps"),
    (dict(eval_every=0), "eval_every"),  # the reference's loop always evaluates
    (dict(optimizer="nadam"), "optimizer must be one of \\('adam', 'sgd'\\); got 'nadam'"),
])
def test_the_base_checks_what_every_config_shares(kwargs, message):
    with pytest.raises(ValueError, match=message):
        training.LoopConfig(**kwargs)


def test_one_optimizer_choice_written_out():
    """SGD with momentum and Adam after PyTorch's L2 weight decay, stepped by hand against
    `training.optimizer`, and every configuration's `transformation` is that choice."""
    params, grads = jnp.array([1.0, -2.0]), jnp.array([0.5, 0.25])
    sgd = training.optimizer("sgd", 0.1, momentum=0.9)
    state = sgd.init(params)
    first, state = sgd.update(grads, state, params)
    second, _ = sgd.update(grads, state, params)
    np.testing.assert_allclose(first, -0.1 * grads)
    np.testing.assert_allclose(second, -0.1 * (0.9 * grads + grads))
    adam = training.optimizer("adam", 0.01, weight_decay=0.5)
    update, _ = adam.update(grads, adam.init(params), params)
    plain = optax.adam(0.01)
    expected, _ = plain.update(grads + 0.5 * params, plain.init(params), params)
    np.testing.assert_allclose(update, expected)
    from mnist1d_jax.lab import lottery, sweeps

    for config, name in ((training.TrainConfig(), "adam"), (sweeps.SweepConfig(), "sgd"),
                         (lottery.TicketConfig(optimizer="sgd"), "sgd")):
        assert config.optimizer == name
        made, _ = config.transformation().update(grads, config.transformation().init(params),
                                                 params)
        chosen = training.optimizer(name, config.learning_rate,
                                    momentum=getattr(config, "momentum", None),
                                    weight_decay=getattr(config, "weight_decay", None))
        np.testing.assert_array_equal(made, chosen.update(grads, chosen.init(params), params)[0])
    with pytest.raises(ValueError, match="optimizer must be one of"):
        training.optimizer("rmsprop", 0.1)


def test_weighted_metrics_equal_the_metrics_of_the_rows_weighed_one():
    logits = jax.random.normal(jax.random.key(0), (8, 3))
    labels = jnp.array([0, 1, 2, 0, 1, 2, 0, 1])
    weights = jnp.array([1, 1, 0, 1, 0, 1, 1, 0], jnp.float32)
    kept = weights == 1
    for name in ("cross_entropy", "accuracy", "error"):
        metric = getattr(training, name)
        np.testing.assert_allclose(metric(logits, labels, weights),
                                   metric(logits[kept], labels[kept]), rtol=1e-6)
    np.testing.assert_allclose(training.accuracy(logits, labels) + training.error(logits, labels),
                               100.0)
    right = jnp.argmax(logits, -1) == labels
    np.testing.assert_allclose(training.accuracy(logits, labels), 100 * right.mean())


def test_over_runs_vmaps_a_run_over_keys_with_shared_arguments():
    keys = jax.random.split(jax.random.key(3), 4)
    out = training.over_runs(lambda key, scale: jax.random.normal(key, (2,)) * scale, keys, 3.0)
    assert out.shape == (4, 2)
    np.testing.assert_allclose(out[2], jax.random.normal(keys[2], (2,)) * 3.0, rtol=1e-6)
    alone = training.over_runs(lambda key, scale: jax.random.normal(key, (2,)) * scale, keys[2],
                               3.0)
    np.testing.assert_array_equal(alone, jax.random.normal(keys[2], (2,)) * 3.0)  # not batched
    np.testing.assert_array_equal(training.one_or_many(out, True), out[0])
    assert training.one_or_many(out, False) is out


def test_cyclic_rows_wrap_around_the_data():
    rows, weights = training.batch_rows(3, 4, 10)
    assert rows.tolist() == [2, 3, 4, 5] and weights.tolist() == [1, 1, 1, 1]
    assert training.batch_rows(2, 4, 10)[0].tolist() == [8, 9, 0, 1]


@pytest.mark.parametrize("drop_last, per_epoch, last", [(False, 4, 10), (True, 3, 30)])
def test_epochs_visit_each_row_at_most_once(drop_last, per_epoch, last):
    key = jax.random.key(0)
    orders = []
    for epoch in range(2):
        seen, weights = [], []
        for step in range(per_epoch * epoch, per_epoch * (epoch + 1)):
            rows, w = training.batch_rows(step, 30, 100, "epochs", key, drop_last=drop_last)
            seen.append(np.asarray(rows)[np.asarray(w) > 0])
            weights.append(float(w.sum()))
        visited = np.concatenate(seen)
        assert len(set(visited.tolist())) == len(visited) == (100 if not drop_last else 90)
        assert weights[-1] == last
        orders.append(visited)
    assert not np.array_equal(orders[0], orders[1])  # a fresh order every epoch


def test_fit_steps_is_the_plain_loop_written_out():
    """Ten SGD updates on a quadratic, with an evaluation after updates 1, 4, 7 (the schedule
    `Schedule(1, 3, 3)`), against the same loop in Python."""
    target = jnp.arange(3.0)
    batches = jnp.arange(10.0)[:, None] * jnp.ones(3)

    def loss_fn(p, batch):
        return jnp.sum((p - target - 0.01 * batch) ** 2)

    optimizer = optax.sgd(0.1)
    params = jnp.zeros(3)
    (final, _), (losses, metrics) = training.fit_steps(
        loss_fn, optimizer, lambda i: batches[i], params, optimizer.init(params),
        jnp.arange(10), evaluate=lambda p: {"norm": jnp.linalg.norm(p)},
        schedule=training.Schedule(1, 3, 3))
    p, expected_losses, expected_norms = np.zeros(3), [], []
    for i in range(10):
        expected_losses.append(np.sum((p - np.arange(3.0) - 0.01 * i) ** 2))
        p = p - 0.1 * 2 * (p - np.arange(3.0) - 0.01 * i)
        if i in (1, 4, 7):
            expected_norms.append(np.linalg.norm(p))
    np.testing.assert_allclose(final, p, rtol=1e-6)
    np.testing.assert_allclose(losses, expected_losses, rtol=1e-5)
    np.testing.assert_allclose(metrics["norm"], expected_norms, rtol=1e-6)


def test_torch_uniform_is_pytorchs_bound_from_either_source():
    rngs_values = nn.torch_uniform(nnx.Rngs(0), (400, 30), 25)
    hash_values = nn.torch_uniform(nn.UnitHash(np.arange(8, dtype=np.uint32).reshape(2, 4)),
                                   (400, 30), 25)
    for values in (np.asarray(rngs_values), hash_values):
        assert values.dtype == np.float32 and np.abs(values).max() <= 0.2
        assert abs(values.std() - 0.2 / np.sqrt(3)) < 0.01
    with pytest.raises(TypeError, match="rngs must be"):
        nn.torch_uniform(jax.random.key(0), (3,), 1)
    source = nn.UnitHash(np.zeros((1, 4), np.uint32))
    source.uniform((2,), 1.0)
    with pytest.raises(ValueError, match="seed words for 1 arrays"):
        source.uniform((2,), 1.0)


def test_unit_hash_values_do_not_depend_on_the_padding():
    words = np.array([1, 2, 3, 4], np.uint32)
    narrow, wide = nn.unit_uniform(words, (3, 5), 1.0), nn.unit_uniform(words, (7, 9), 1.0)
    np.testing.assert_array_equal(wide[:3, :5], narrow)


def test_a_padded_model_keeps_its_width_as_state():
    model = nn.FeedForward((40, 6, 6, 10), padded=16, rngs=nnx.Rngs(0))
    graphdef, params, width = nnx.split(model, nnx.Param, nn.Width)
    assert int(jax.tree.leaves(width)[0]) == 6
    other = nn.FeedForward((40, 9, 9, 10), padded=16, rngs=nnx.Rngs(0))
    assert nnx.graphdef(other) == graphdef  # one program serves both widths
    first = params["layers"][0]["kernel"][...]
    assert float(jnp.abs(first[:, 6:]).max()) == 0.0 and float(jnp.abs(first[:, :6]).min()) > 0
    with pytest.raises(ValueError, match="padded must be at least the width 6"):
        nn.FeedForward((40, 6, 6, 10), padded=4, rngs=nnx.Rngs(0))
