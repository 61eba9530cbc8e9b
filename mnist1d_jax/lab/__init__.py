"""The lab: models, training and metalearning on MNIST-1D (Flax NNX and optax).

Needs the `lab` extra: `pip install 'mnist1d-jax[lab]'`. Importing any part of it without Flax or
optax raises one `ImportError` line naming that command. Each part is imported on its own
(`from mnist1d_jax.lab import nn, training`); each subpackage's `__init__` is its public face:

- `nn`: layers, initialisation, every model, the model-state helpers (`init`, `apply`);
- `training`: the one training core, the paper's training, metrics, the lab's input checks;
- `parallel`: runs placed over devices and hosts, programs side by side on a CPU's cores;
- `sweeps`: many models of one family trained as few compiled programs;
- `meta`: differentiable metalearning (learning rate, activation, the generator's arguments);
- `lottery`, `contrastive`, `tsne`: lottery tickets, SimCLR, t-SNE;
- `experiments`: the reference's experiments, their results, reports and `reproduce`.
"""

from ..extras import require

require("lab", "mnist1d_jax.lab", "flax", "optax")
