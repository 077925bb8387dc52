"""PartSpec: a checked recipe node that the host builds later, adding its runtime arguments."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class PartSpec(Generic[T]):
    """A part's factory with its recipe arguments bound; call it with the runtime arguments.

    Annotate a factory parameter ``PartSpec[Mixer]`` to receive one: a U-Net builds a mixer per attention
    block, each with its own ``dim``.
    """

    kind: str
    name: str
    factory: Callable[..., T]
    args: Mapping[str, Any] = field(default_factory=dict)

    def __call__(self, **runtime_args: Any) -> T:
        return self.factory(**self.args, **runtime_args)
