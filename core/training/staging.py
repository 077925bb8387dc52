"""A staged run (``train.mixers_from_step``): a per-track model first, the cross-track mixers join later.

The paper trains its cross-track layers on a pretrained single-track model; this does the same inside one
run. Before the step, every :class:`~synctrack.interfaces.Mixer` is switched off (``active = False``: a zero
update at no cost, hence no gradient); from it on, they run and train. docs/training.md.
"""

from __future__ import annotations

from collections.abc import Iterable

from torch import nn

from ..interfaces import mixers_in


def stage_mixers(modules: Iterable[nn.Module], step: int, mixers_from_step: int) -> set[int]:
    """Switch every mixer inside ``modules`` on (``step >= mixers_from_step``) or off; returns the ids of the
    parameters of the switched-off mixers. The trainer leaves their gradients at None so that AdamW neither
    steps them nor ages their moments: the mixers join with a fresh optimizer state."""
    if step > mixers_from_step:  # switched on at the step itself; a model built after it (a resume) starts on
        return set()
    active = step >= mixers_from_step
    idle: set[int] = set()
    for module in modules:
        for mixer in mixers_in(module):
            mixer.active = active
            if not active:
                idle.update(id(parameter) for parameter in mixer.parameters())
    return idle
