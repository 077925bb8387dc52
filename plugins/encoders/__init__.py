"""Built-in encoders: ``mel_vae`` (MusicLDM's KL autoencoder), ``mel`` (the normalised log-mel) and
``waveform`` (identity, for waveform models)."""

from synctrack import hookimpl

from .mel import MelEncoder
from .mel_vae import MelVAE
from .waveform import WaveformEncoder

TINY_MEL = {"n_mels": 16, "n_fft": 256, "win_length": 256, "hop_length": 64}


@hookimpl
def synctrack_register_parts(registry):
    registry.add(
        "encoder",
        "mel_vae",
        MelVAE,
        example={"mel": TINY_MEL, "base_channels": 8, "channel_multipliers": [1, 2], "res_blocks": 1,
                 "latent_channels": 4, "norm_groups": 4},
    )
    registry.add("encoder", "mel", MelEncoder)
    registry.add("encoder", "waveform", WaveformEncoder)
