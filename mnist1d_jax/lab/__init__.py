"""The lab: models, training and metalearning on MNIST-1D (Flax NNX and optax).

Needs the `lab` extra: `pip install 'mnist1d-jax[lab]'`. Importing any part of it without Flax or
optax raises one `ImportError` line naming that command. Modules: `models`, `train`, `meta`,
`sweep`, `lottery`, `contrastive`, and `cpu` and `host_keys` (running their programs well on CPUs).
"""

from ..extras import require

require("lab", "mnist1d_jax.lab", "flax", "optax")
