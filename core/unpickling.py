"""What a refused weights-only load tried to run, in words a user can act on.

``torch.load(weights_only=True)`` refuses a pickle that would call anything besides the tensor and container
constructors; its message starts with a long generic paragraph ("Weights only load failed ... Re-running
with weights_only set to False will likely succeed"), which is the opposite of the advice a user should get.
:func:`refused_call` picks out the call that was blocked (``posix.system``), so that every loader of the
project can name it.
"""

from __future__ import annotations

import pickle
import re

# torch's wordings: "Trying to load unsupported GLOBAL posix.system whose module posix is blocked." and
# "Unsupported global: GLOBAL __main__.Thing was not an allowed global by default."
_GLOBAL = re.compile(r"GLOBAL\s+([\w.]+)")


def refused_call(error: pickle.UnpicklingError) -> str | None:
    """``"it would call posix.system"`` when a weights-only load refused a call, else None: the file is then
    not a pickle that runs code but damaged or not a torch file at all (torch raises the same exception
    for an unknown opcode)."""
    found = _GLOBAL.search(str(error))
    return f"it would call {found.group(1)}" if found else None


def unpickling_problem(path: object, error: pickle.UnpicklingError, advice: str, damaged: str) -> str:
    """The message for a weights-only ``torch.load`` of ``path`` that raised ``error``: the refused call and
    ``advice`` (what the user should do instead), or ``damaged`` when nothing was refused (a broken file)."""
    blocked = refused_call(error)
    if blocked is None:
        return damaged
    return (
        f"refusing to load {path}: it holds Python objects besides tensors, and loading them would run code "
        f"({blocked}); nothing was run. {advice}"
    )
