"""Optional dependencies ("extras"): one clear line when one is missing."""

from __future__ import annotations

import importlib


class MissingExtra(ImportError):
    """An optional dependency of a part of this package is not installed. The message is one line
    naming the install command."""


def require(extra: str, part: str, *modules: str) -> None:
    """Imports `modules`; if one is missing, raises `MissingExtra` naming `part` (what needs
    them) and the command that installs the `extra`."""
    for module in modules:
        try:
            importlib.import_module(module)
        except ImportError:
            raise MissingExtra(
                f"{part} needs {module}, which is not installed: "
                f"pip install 'mnist1d-jax[{extra}]'") from None
