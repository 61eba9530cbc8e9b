"""Adapters to other libraries, each behind its own extra: `adapters.torch` (PyTorch `Dataset` and
`IterableDataset`: `pip install 'mnist1d-jax[torch]'`), `adapters.grain` (a Grain data source:
`[grain]`) and `adapters.parquet` (Hugging Face's parquet layout: `[parquet]`). Importing one
without its extra raises one line naming the install command."""
