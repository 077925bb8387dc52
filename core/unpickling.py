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
_OPERATION = re.compile(r"Unsupported operand (\d+)|Unsupported class ([\w.]+)")


def refused_call(error: pickle.UnpicklingError) -> str:
    """``"it would call posix.system"`` (or the unpickling step torch refused), from a weights-only load's
    error; a neutral phrase when torch's message names nothing."""
    text = str(error)
    found = _GLOBAL.search(text)
    if found:
        return f"it would call {found.group(1)}"
    found = _OPERATION.search(text)
    if found:
        return f"it uses an unsupported pickle operation ({found.group(0)})"
    return "it holds Python objects that are not tensors"
