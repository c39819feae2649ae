"""What the registry knows of one named dataset, and the option checks its loaders share."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from densekit.data.dataset import Dataset
from densekit.data.download import RemoteFile
from densekit.errors import DensekitError


@dataclass(frozen=True)
class NamedSet:
    name: str
    # Called as loader(this entry, data.options): the entry carries the files to read.
    loader: Callable[["NamedSet", dict[str, Any]], Dataset]
    rows: str                            # for `densekit datasets`, e.g. "60,000 + 10,000"
    classes: str                         # a count, or "regression"
    licence: str
    files: tuple[RemoteFile, ...] = ()   # the publisher's files; none if bundled or generated

    @property
    def filenames(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.files)

    def load(self, options: dict[str, Any]) -> Dataset:
        return self.loader(self, options)


def no_options(name: str, options: dict[str, Any]) -> None:
    if options:
        raise DensekitError(f"The {name} dataset takes no options; received "
                            f"{', '.join(options)}. Remove data.options.")
