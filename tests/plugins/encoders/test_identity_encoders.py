"""The ``mel`` and ``waveform`` encoders: exact round trips, the documented layouts (including the mel
latent's transposition against the vocoder layout), padding to a multiple and cropping back."""

from __future__ import annotations

import math

import pytest
import torch

from synctrack import get_registry
from synctrack.audio import MelConfig, MelSpectrogram
from synctrack.plugins.encoders import MelEncoder, WaveformEncoder


def noise(*shape: int, seed: int = 0) -> torch.Tensor:
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed)) * 0.2


def test_mel_latents_are_the_normalised_log_mel_with_frames_on_t_and_mel_bins_on_f():
    encoder = MelEncoder()
    waveforms = noise(2, 3, 163840)
    latents = encoder.encode(waveforms)
    assert latents.shape == (2, 3, 1, 1024, 64) == (2, 3, *encoder.latent_shape(163840))
    front_end = MelSpectrogram()
    log_mel = front_end(waveforms)  # vocoder layout [B, S, n_mels, frames]
    # latent[b, s, 0, t, m] is mel bin m of frame t: the transpose of the vocoder layout
    torch.testing.assert_close(latents[1, 2, 0, 10, 5], front_end.normalize(log_mel[1, 2, 5, 10]))
    torch.testing.assert_close(latents[:, :, 0], front_end.normalize(log_mel).transpose(-1, -2))
    assert latents.min() >= -1.0 - 1e-6 and latents.max() <= 1.0


def test_mel_decode_inverts_encode_exactly_and_returns_the_vocoder_layout():
    encoder = MelEncoder(scale_factor=0.5)
    waveforms = noise(1, 2, 16000, seed=1)
    decoded = encoder.decode(encoder.encode(waveforms))
    assert decoded.shape == (1, 2, 64, 100)
    torch.testing.assert_close(decoded, MelSpectrogram()(waveforms), atol=1e-5, rtol=1e-5)


def test_mel_frames_are_padded_with_silence_and_cropped_back():
    encoder = MelEncoder(frame_multiple=8)
    num_samples = 21 * 160 + 40  # 21 frames, padded to 24
    assert encoder.latent_shape(num_samples) == (1, 24, 64)
    latents = encoder.encode(noise(1, 1, num_samples, seed=2))
    assert latents.shape == (1, 1, 1, 24, 64)
    assert torch.all(latents[..., 21:, :] == -1.0)  # silence
    assert encoder.decode(latents).shape[-1] == 24
    assert encoder.decode(latents, num_samples=num_samples).shape[-1] == 21


def test_mel_encoder_follows_its_mel_config():
    config = MelConfig(n_mels=80, hop_length=256, n_fft=1024, win_length=1024, sample_rate=22050, f_max=None)
    encoder = MelEncoder(mel=config)
    assert encoder.sample_rate == 22050 and encoder.mel_config == config and encoder.decodes_to == "mel"
    assert encoder.encode(noise(1, 4, 22050)).shape == (1, 4, 1, 22050 // 256, 80)
    with pytest.raises(ValueError, match=r"\[B, S, 1, T, 80\]"):
        encoder.decode(torch.zeros(1, 4, 1, 10, 64))


def test_waveform_encoder_pads_to_a_multiple_and_decode_recovers_the_clip():
    encoder = WaveformEncoder(sample_rate=22050, multiple=1024, scale_factor=2.0)
    waveforms = noise(2, 5, 3000, seed=3)
    latents = encoder.encode(waveforms)
    assert latents.shape == (2, 5, 1, 3072) == (2, 5, *encoder.latent_shape(3000))
    torch.testing.assert_close(latents[:, :, 0, :3000], 2.0 * waveforms)
    assert torch.all(latents[..., 3000:] == 0)
    assert encoder.decode(latents).shape == (2, 5, 3072)
    torch.testing.assert_close(encoder.decode(latents, num_samples=3000), waveforms)
    assert encoder.decodes_to == "waveform" and encoder.mel_config is None
    with pytest.raises(ValueError, match="exceeds"):
        encoder.decode(latents, num_samples=4000)
    with pytest.raises(ValueError, match=r"\[B, S, 1, L'\]"):
        encoder.decode(torch.zeros(2, 5, 3072))


@pytest.mark.parametrize("name, argument", [("waveform", "multiple"), ("mel", "frame_multiple")])
def test_a_non_positive_multiple_is_a_clear_error(name, argument):
    from synctrack.errors import UserError

    with pytest.raises(UserError, match=f"{argument} must be a positive integer"):
        get_registry().get("encoder", name).factory(**{argument: 0})


def test_encoders_are_registered_with_the_documented_layouts():
    registry = get_registry()
    assert {"mel", "mel_vae", "waveform"} <= set(registry.names("encoder"))
    length = 163840
    assert registry.get("encoder", "mel").factory().latent_shape(length) == (1, 1024, 64)
    assert registry.get("encoder", "waveform").factory(multiple=4096).latent_shape(length) == (1, math.ceil(length / 4096) * 4096)
