"""MSDM (Mariani et al.): a waveform U-Net whose input channels are the sources, for EDM diffusion."""

from synctrack import hookimpl

from .unet1d import UNet1D

TINY = {
    "sources": 2,
    "channels": 8,
    "patch_factor": 2,
    "multipliers": [1, 2, 2],
    "factors": [2, 2],
    "blocks_per_level": [1, 1],
    "attention_levels": [False, True],
    "attention_heads": 2,
    "attention_head_dim": 8,
    "norm_groups": 4,
}


@hookimpl
def synctrack_register_parts(registry):
    registry.add("denoiser", "unet1d", UNet1D, example=TINY)
