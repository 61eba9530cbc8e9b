"""Multi-host generation, for real: two processes on localhost, 4 simulated CPU devices each,
joined by `jax.distributed` into one 8-device mesh. Each process computes only its own rows, and
they equal the matching rows of the one-process batch bit for bit."""

import textwrap

import pytest
from conftest import run_processes

WORKER = textwrap.dedent("""
    import json, os, sys
    os.environ["XLA_FLAGS"] = "--xla_force_host_platform_device_count=4"
    import jax
    process_id, port = int(sys.argv[1]), sys.argv[2]
    jax.distributed.initialize(coordinator_address=f"127.0.0.1:{port}", num_processes=2,
                               process_id=process_id, initialization_timeout=120)
    import numpy as np
    from jax.sharding import Mesh, NamedSharding, PartitionSpec as P
    import mnist1d_jax

    args = mnist1d_jax.get_dataset_args(shuffle_seq=True)
    key = jax.random.key(7)
    mesh = Mesh(np.array(jax.devices()), ("batch",))
    sharding = NamedSharding(mesh, P("batch"))
    batch = jax.jit(lambda k: mnist1d_jax.sample_batch(k, args, 64, sharding=sharding))(key)
    # the one-process batch, computed here on this process's first device alone
    with jax.default_device(jax.local_devices()[0]):
        whole = mnist1d_jax.sample_batch(key, args, 64)
    whole_x, whole_y = np.asarray(whole["x"]), np.asarray(whole["y"])
    shards = []
    for x, y in zip(batch["x"].addressable_shards, batch["y"].addressable_shards):
        rows = x.index[0]
        shards.append({"start": rows.start, "stop": rows.stop,
                       "x_equal": bool(np.array_equal(np.asarray(x.data), whole_x[rows])),
                       "y_equal": bool(np.array_equal(np.asarray(y.data), whole_y[rows]))})
    print(json.dumps({"process": jax.process_index(), "processes": jax.process_count(),
                      "devices": jax.device_count(), "local": jax.local_device_count(),
                      "shards": shards}))
    jax.distributed.shutdown()
""")


@pytest.mark.slow
def test_each_process_computes_exactly_its_own_rows():
    outputs = run_processes(WORKER, timeout=300)
    covered = []
    for i, result in enumerate(sorted(outputs, key=lambda r: r["process"])):
        assert (result["process"], result["processes"], result["devices"], result["local"]) \
            == (i, 2, 8, 4)
        assert len(result["shards"]) == 4  # only its own devices' rows
        for shard in result["shards"]:
            assert shard["stop"] - shard["start"] == 8
            assert shard["x_equal"] and shard["y_equal"], (i, shard)
            covered += range(shard["start"], shard["stop"])
    assert sorted(covered) == list(range(64))  # the two processes together make every row once
