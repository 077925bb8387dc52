"""Built-in vocoders: ``griffin_lim`` (no training) and ``hifigan`` (MusicLDM's configuration)."""

from synctrack import hookimpl

from .griffin_lim import GriffinLimVocoder
from .hifigan import HifiGanGenerator, HifiGanTraining, HifiGanVocoder
from .hifigan_objective import HifiGanObjective

__all__ = ["GriffinLimVocoder", "HifiGanGenerator", "HifiGanObjective", "HifiGanTraining", "HifiGanVocoder"]


@hookimpl
def synctrack_register_parts(registry):
    registry.add("vocoder", "griffin_lim", GriffinLimVocoder)
    registry.add(
        "vocoder",
        "hifigan",
        HifiGanVocoder,
        example={"upsample_initial_channel": 32, "resblock_kernel_sizes": [3], "resblock_dilation_sizes": [[1, 3]]},
    )
