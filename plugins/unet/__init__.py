"""The 2-D latent U-Net of SyncTrack (``unet2d``) and its blocks."""

from synctrack import hookimpl

from .attention_block import AttentionBlock
from .resblock import ResBlock2d
from .sampling import Downsample2d, Upsample2d
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
    registry.add("block", "resblock", ResBlock2d, example={"channels": 8, "embedding_dim": 16, "norm_groups": 4})
    registry.add("block", "attention_block", AttentionBlock, example={"channels": 8, "head_dim": 4, "norm_groups": 4})
    registry.add("block", "downsample", Downsample2d, example={"channels": 8})
    registry.add("block", "upsample", Upsample2d, example={"channels": 8})
