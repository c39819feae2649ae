"""`densekit datasets`: every name, with its size, classes, licence, and where it was found."""

from __future__ import annotations

from densekit.data.folders import folder_holding
from densekit.data.namedset import NamedSet
from densekit.data.registry import REGISTRY


def place(entry: NamedSet) -> str:
    if not entry.files:
        return "built in"
    found = folder_holding(entry.name, entry.filenames)
    return str(found) if found else "missing: downloaded on first use"


def listing() -> str:
    rows = [("name", "rows", "classes", "licence", "where")]
    rows += [(e.name, e.rows, e.classes, e.licence, place(e)) for e in REGISTRY.values()]
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(r[:4], widths)) + "  " + r[4] for r in rows)
