"""Progress bars for the command line (tqdm): `Bar` is a `progress(stage, done, total)` callable,
the signature that `write_dataset` and the lab's experiments report to. On a terminal it redraws
one line on stderr (description, percentage, elapsed time, an estimate of the time left, the
stage); elsewhere it is silent. The library's functions never draw bars themselves."""

from __future__ import annotations

import sys

BAR_FORMAT = "{desc} {percentage:3.0f}%|{bar:20}| {elapsed} elapsed, {remaining} left{postfix}"


class Bar:
    """`with Bar("double-descent") as bar: run(..., progress=bar)`."""

    def __init__(self, description: str, *, stream=None, disable: bool | None = None):
        from tqdm import tqdm

        self.bar = tqdm(total=1.0, desc=description, file=sys.stderr if stream is None else stream,
                        bar_format=BAR_FORMAT, disable=disable, smoothing=0.0, leave=False,
                        dynamic_ncols=True)

    def __call__(self, stage: str, done: float, total: float) -> None:
        if total > 0 and total != self.bar.total:
            self.bar.total = total
        self.bar.set_postfix_str(stage, refresh=False)
        self.bar.update(done - self.bar.n)  # through update: tqdm's rate and estimate follow

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.bar.close()
        return False
