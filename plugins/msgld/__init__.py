"""MSG-LD (Karchkhadze et al., ICASSP 2025): a 3-D latent U-Net whose conv channels are the stems, with the
mixture's latent as an optional condition (generation, separation, arrangement)."""

from synctrack import hookimpl

from .unet3d import UNet3D

TINY = {
    "sources": 2,
    "latent_channels": 2,
    "base_channels": 8,
    "channel_multipliers": [1, 2],
    "res_blocks": 1,
    "attention_levels": [2],
    "head_dim": 8,
    "norm_groups": 4,
}


@hookimpl
def synctrack_register_parts(registry):
    registry.add("denoiser", "unet3d", UNet3D, example=TINY)
