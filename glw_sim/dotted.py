"""Dotted paths into a scenario's nested data (``labour_demand.matching_elasticity``, ``interventions.0.effect``):
read and set a value, list items by index. Below the draws and the sweeps, which both set scenario fields so."""

from __future__ import annotations

from typing import Any


def get_path(data: dict, path: str):
    """The value at a dotted path in nested dicts and lists (list items by index)."""
    cur = data
    for part in path.split("."):
        cur = cur[int(part)] if isinstance(cur, list) else cur[part]
    return cur


def set_path(data: dict, path: str, value: float) -> None:
    """Set ``value`` at a dotted path in nested dicts and lists (list items by index)."""
    keys = path.split(".")
    node: Any = data
    for i, k in enumerate(keys[:-1]):
        nxt_is_index = keys[i + 1].isdigit()
        if isinstance(node, list):
            node = node[int(k)]
        else:
            if k not in node or node[k] is None:
                node[k] = [] if nxt_is_index else {}
            node = node[k]
    last = keys[-1]
    if isinstance(node, list):
        node[int(last)] = value
    else:
        node[last] = value
