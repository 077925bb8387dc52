"""What core does with the node options that interfaces declare, right after the part is built.

An interface lists the extra keys its recipe nodes may hold (``node_options``: ``init:`` for denoisers,
encoders and vocoders) with their types, so recipes are checked like every argument; the action lives here,
at the place parts are built, so that the contracts themselves import nothing above them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def load_init(part: Any, spec: Any, where: str) -> None:
    """``init:`` -- load pretrained weights into a freshly built part (see :mod:`synctrack.pretrained`)."""
    if any(parameter.is_meta for parameter in part.parameters()):
        return  # built on the meta device to count parameters: there is nothing to load into
    from ..pretrained import load_pretrained

    load_pretrained(part, spec, name=where.removesuffix(".init"))


HANDLERS: dict[str, Callable[[Any, Any, str], None]] = {"init": load_init}


def apply_node_option(part: Any, key: str, value: Any, where: str) -> None:
    """Give ``value`` of node option ``key`` (at recipe path ``where``) to the built ``part``."""
    handler = HANDLERS.get(key)
    if handler is None:
        raise NotImplementedError(f"node option {key!r} ({where}) is declared by an interface but core has no handler for it")
    handler(part, value, where)
