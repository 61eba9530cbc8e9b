"""Sharded generation on 8 simulated CPU devices (a subprocess: XLA_FLAGS must precede JAX)."""

import textwrap

import pytest
from conftest import FAST_XLA_FLAGS, run_processes

SCRIPT = textwrap.dedent("""
    import json, os
    os.environ["XLA_FLAGS"] = "--xla_force_host_platform_device_count=8 FAST_XLA_FLAGS"
    import jax, numpy as np
    from jax.sharding import Mesh, NamedSharding, PartitionSpec as P
    import mnist1d_jax
    from mnist1d_jax import dataset, recipe

    args = mnist1d_jax.get_dataset_args(shuffle_seq=True)
    key = jax.random.key(0)
    plain = mnist1d_jax.sample_batch(key, args, 64)
    out = {"devices": jax.device_count(), "identical": {}, "shard_rows": {}, "collectives": {}}
    for n in (1, 2, 8):
        mesh = Mesh(np.array(jax.devices()[:n]), ("batch",))
        sharding = NamedSharding(mesh, P("batch"))
        batch = mnist1d_jax.sample_batch(key, args, 64, sharding=sharding)
        out["identical"][n] = bool(np.array_equal(batch["x"], plain["x"])
                                   and np.array_equal(batch["y"], plain["y"]))
        out["shard_rows"][n] = sorted({s.data.shape[0] for s in batch["x"].addressable_shards})
        source = recipe.prepare(args, mnist1d_jax.get_templates(), np.float32)
        hlo = dataset._sample.lower(key, args, recipe.position_permutation(args), source, None,
                                    64, np.dtype("float32"), sharding, False, "population",
                                    False).compile().as_text()
        out["collectives"][n] = [op for op in ("all-gather", "all-reduce", "all-to-all",
                                               "collective-permute") if op in hlo]
    try:
        mesh = Mesh(np.array(jax.devices()), ("batch",))
        mnist1d_jax.sample_batch(key, args, 60, sharding=NamedSharding(mesh, P("batch")))
    except ValueError as error:
        out["indivisible"] = str(error)

    # a data-parallel step fed by the sharded stream (the README's example)
    mesh = Mesh(np.array(jax.devices()), ("batch",))
    data_sharding = NamedSharding(mesh, P("batch"))
    weights = jax.device_put(np.zeros((40, 10), np.float32), NamedSharding(mesh, P()))

    @jax.jit
    def step(w, key):
        batch = mnist1d_jax.sample_batch(key, args, 256, sharding=data_sharding)
        def loss(w):
            logits = batch["x"] @ w
            return -jax.numpy.mean(jax.nn.log_softmax(logits)[jax.numpy.arange(256), batch["y"]])
        value, grad = jax.value_and_grad(loss)(w)
        return w - 0.5 * grad, value

    losses = []
    for i in range(30):
        weights, value = step(weights, jax.random.key(i))
        losses.append(float(value))
    out["losses"] = [losses[0], losses[-1]]
    out["weights_sharding"] = str(weights.sharding.spec)

    # whole datasets: the same bits on 1, 2 and 8 devices, every normalisation, label noise
    noisy = args.replace(num_samples=4000, label_noise=0.2)
    out["datasets"] = {}
    for normalize in ("dataset", "none"):  # with and without the dataset's own reductions
        whole = mnist1d_jax.make_dataset(key, noisy, normalize=normalize)
        for n in (1, 2, 8):
            mesh = Mesh(np.array(jax.devices()[:n]), ("batch",))
            data = mnist1d_jax.make_dataset(key, noisy, normalize=normalize,
                                            sharding=NamedSharding(mesh, P("batch")))
            out["datasets"][f"{normalize} {n}"] = {
                "identical": all(bool(np.array_equal(data[k], whole[k]))
                                 for k in ("x", "x_test", "y", "y_test", "t", "noisy")),
                "rows": sorted({s.data.shape[0] for s in data["x"].addressable_shards})}
    try:
        mesh = Mesh(np.array(jax.devices()[:8]), ("batch",))
        mnist1d_jax.make_dataset(key, args.replace(num_samples=100),
                                 sharding=NamedSharding(mesh, P("batch")))
    except ValueError as error:
        out["indivisible dataset"] = str(error)
    print(json.dumps(out))
""").replace("FAST_XLA_FLAGS", FAST_XLA_FLAGS)  # a few steps: compilation dominates


@pytest.mark.slow
def test_sharded_stream_is_identical_on_1_2_and_8_devices():
    out, = run_processes(SCRIPT, count=1)
    assert out["devices"] == 8
    assert out["identical"] == {"1": True, "2": True, "8": True}
    assert out["shard_rows"] == {"1": [64], "2": [32], "8": [8]}
    assert out["collectives"] == {"1": [], "2": [], "8": []}  # rows made in place, no gather
    assert "divisible by the 8 shards" in out["indivisible"]
    assert out["losses"][1] < out["losses"][0] - 0.3  # the data-parallel step learns
    for name, dataset in out["datasets"].items():
        assert dataset["identical"], name
        assert dataset["rows"] == [3200 // int(name.split()[1])], name
    assert "the number of examples=100 must be divisible by the 8 shards" \
        in out["indivisible dataset"]
