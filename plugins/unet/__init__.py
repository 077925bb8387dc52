"""The 2-D latent U-Net of SyncTrack (``unet2d``) and its blocks."""

from synctrack import hookimpl

from .unet2d import UNet2D

TINY = {
    "in_channels": 4,
    "base_channels": 16,
    "channel_multipliers": [1, 2],
    "res_blocks": 1,
    "attention_levels": [2],
    "head_dim": 8,
    "norm_groups": 4,
}


@hookimpl
def synctrack_register_parts(registry):
    registry.add("denoiser", "unet2d", UNet2D, example=TINY)
