"""Configuration files: YAML read as text with aliases bounded, and dotted keys set in it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from densekit.config.messages import clip, short
from densekit.errors import DensekitError


def read_yaml(path: str | Path) -> dict[str, Any]:
    path = Path(path)
    try:
        text = path.read_bytes().decode("utf-8")
    except OSError as err:
        raise DensekitError(f"Cannot read the configuration file {path}: {err.strerror}. "
                            "Check the path.") from None
    except UnicodeDecodeError as err:
        line = err.object[:err.start].count(b"\n") + 1
        raise DensekitError(f"The configuration file {path} is not UTF-8 text: byte "
                            f"0x{err.object[err.start]:02x} on line {line} is not valid UTF-8. "
                            "Open it in an editor and save it as UTF-8.") from None
    values = parse_yaml(text, f"The configuration file {path}") or {}
    if not isinstance(values, dict):
        raise DensekitError(f"The configuration file {path} must hold a mapping with sections "
                            f"data, model and train; it holds a {type(values).__name__}.")
    return values


def parse_yaml(text: str, what: str) -> Any:
    """yaml.safe_load with aliases bounded; `what` starts the error message."""
    try:
        return yaml.load(text, Loader=BoundedLoader)
    except yaml.YAMLError as err:
        raise DensekitError(f"{what} is not valid YAML: {clip(str(err), 400)}") from None
    except RecursionError:
        raise DensekitError(f"{what} is nested too deeply to read.") from None


MAX_NODES = 100_000  # a configuration has a few hundred; aliases may not multiply them past this


class BoundedLoader(yaml.SafeLoader):
    """SafeLoader that refuses documents whose aliases expand past MAX_NODES nodes (the
    "billion laughs": nine nested aliases of nine make 9**9 values from 90 lines), and aliases
    that refer to themselves, before anything is built from them."""

    def compose_document(self):
        node = super().compose_document()
        expanded_size(node, {}, set())
        return node


def expanded_size(node: yaml.Node, sizes: dict[int, int], open_nodes: set[int]) -> int:
    """Nodes in `node` once every alias is replaced by a copy of its anchor."""
    if id(node) in sizes:
        return sizes[id(node)]
    if id(node) in open_nodes:
        raise yaml.YAMLError(f"an alias refers to itself (the anchor around line "
                             f"{node.start_mark.line + 1}); write the value out instead")
    open_nodes.add(id(node))
    children: list = []
    if isinstance(node, yaml.SequenceNode):
        children = node.value
    elif isinstance(node, yaml.MappingNode):
        children = [part for pair in node.value for part in pair]
    size = 1 + sum(expanded_size(child, sizes, open_nodes) for child in children)
    open_nodes.discard(id(node))
    if size > MAX_NODES:
        raise yaml.YAMLError(f"its aliases (*name) expand to more than {MAX_NODES:,} values; "
                             "a configuration needs far fewer: write the values out instead")
    sizes[id(node)] = size
    return size


def set_dotted(values: dict[str, Any], dotted: str, value: Any) -> None:
    *parents, leaf = dotted.split(".")
    node = values
    for depth, key in enumerate(parents):
        child = node.get(key)
        if child is None:  # `train:` left empty in a file is an empty section
            child = node[key] = {}
        if not isinstance(child, dict):
            where = ".".join(parents[:depth + 1])
            raise DensekitError(f"Cannot set {short(dotted)}: {short(where)} holds {short(child)}, "
                                "not a section of keys. Fix that part of the configuration file.")
        node = child
    node[leaf] = value
