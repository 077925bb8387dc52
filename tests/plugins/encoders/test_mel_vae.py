"""mel_vae: MusicLDM's latent shape, any track count, the KL in closed form, a tiny model that overfits, the
adversarial option, and clear errors."""

from __future__ import annotations

import math
import time

import pytest
import torch
from torch.distributions import Normal, kl_divergence

from synctrack.audio import MelConfig
from synctrack.errors import UserError
from synctrack.plugins.encoders import MelVAE
from synctrack.plugins.encoders.autoencoder_kl import AutoencoderKL, DiagonalGaussian

pytestmark = pytest.mark.usefixtures("one_thread")

TINY = dict(base_channels=8, channel_multipliers=[1, 2, 4], res_blocks=1, latent_channels=8, norm_groups=4)


def harmonic_clips(frames: int = 32, rate: int = 16000) -> torch.Tensor:
    """Four synthetic tracks ``[4, 1, frames * 160]``: harmonic tones with decaying notes every 8 frames."""
    t = torch.arange(frames * 160) / rate
    envelope = torch.exp(-((t * rate / 160) % 8) / 4)
    clips = []
    for f0, partials in [(110.0, 4), (220.0, 3), (330.0, 2), (440.0, 5)]:
        tone = sum((0.3 / (h + 1)) * torch.sin(2 * math.pi * f0 * (h + 1) * t) for h in range(partials))
        clips.append(tone * envelope)
    return torch.stack(clips)[:, None]


def test_paper_configuration_maps_1x1024x64_to_8x256x16_and_back():
    """The paper-size network (base 128, [1, 2, 4], 8 latent channels) on the meta device: shapes only."""
    with torch.device("meta"):
        autoencoder = AutoencoderKL()
        mel = torch.empty(2, 1, 1024, 64)
        posterior = autoencoder.encode(mel)
        assert posterior.mean.shape == (2, 8, 256, 16)
        assert autoencoder.decode(posterior.mean).shape == mel.shape
    assert autoencoder.downsampling == 4
    assert 50e6 < sum(p.numel() for p in autoencoder.parameters()) < 60e6  # MusicLDM's VAE: about 55M


def test_a_10_24_s_clip_encodes_to_8x256x16_and_decodes_to_1024_frames():
    vae = MelVAE(**TINY).eval()
    waveforms = torch.randn(1, 2, 163840, generator=torch.Generator().manual_seed(0)) * 0.1
    assert vae.latent_shape(163840) == (8, 256, 16)
    with torch.no_grad():
        latents = vae.encode(waveforms, sample=False)
        assert latents.shape == (1, 2, 8, 256, 16)
        assert vae.decode(latents).shape == (1, 2, 64, 1024)  # the vocoder layout: [n_mels, frames]


@pytest.mark.parametrize("num_tracks", [1, 3, 5])
def test_any_track_count_and_tracks_are_encoded_independently(num_tracks):
    vae = MelVAE(**TINY).eval()
    waveforms = torch.randn(2, num_tracks, 3200, generator=torch.Generator().manual_seed(num_tracks)) * 0.2
    with torch.no_grad():
        together = vae.encode(waveforms, sample=False)
        assert together.shape == (2, num_tracks, *vae.latent_shape(3200))
        alone = vae.encode(waveforms[1:, -1:], sample=False)
        torch.testing.assert_close(together[1:, -1:], alone, atol=1e-5, rtol=1e-4)
        decoded = vae.decode(together)
        assert decoded.shape == (2, num_tracks, 64, 20)
        torch.testing.assert_close(decoded[1:, -1:], vae.decode(alone), atol=1e-5, rtol=1e-4)


def test_per_song_generators_make_a_songs_posterior_sample_independent_of_its_batch():
    """With one generator per song (what the trainer passes), song b's noise comes from generator[b] only: the
    song encodes to the same sample alone or beside another song, and the same seed repeats it."""
    vae = MelVAE(**TINY).eval()
    waveforms = torch.randn(2, 3, 3200, generator=torch.Generator().manual_seed(4)) * 0.2
    seeded = lambda *seeds: [torch.Generator().manual_seed(s) for s in seeds]  # noqa: E731
    with torch.no_grad():
        together = vae.encode(waveforms, generator=seeded(7, 8))
        alone = vae.encode(waveforms[1:], generator=seeded(8))
        mean = vae.encode(waveforms[1:], sample=False)
    torch.testing.assert_close(together[1:], alone, atol=1e-5, rtol=1e-4)
    assert (alone - mean).abs().max() > 1e-3  # it did sample: the draw is not the posterior mean
    assert torch.equal(vae.encode(waveforms[1:], generator=seeded(8)), alone)


def test_frames_are_padded_to_the_downsampling_and_cropped_back():
    vae = MelVAE(**TINY).eval()
    num_samples = 30 * 160 + 17  # 30 frames: padded to 32, i.e. 8 latent frames
    assert vae.latent_shape(num_samples) == (8, 8, 16)
    with torch.no_grad():
        latents = vae.encode(torch.zeros(1, 1, num_samples), sample=False)
        assert latents.shape == (1, 1, 8, 8, 16)
        assert vae.decode(latents).shape[-1] == 32
        assert vae.decode(latents, num_samples=num_samples).shape[-1] == 30


def test_scale_factor_multiplies_latents_and_decode_divides_it_out():
    torch.manual_seed(0)
    unscaled = MelVAE(**TINY).eval()
    scaled = MelVAE(**TINY, scale_factor=2.5).eval()
    scaled.load_state_dict(unscaled.state_dict())
    waveforms = harmonic_clips(16).reshape(2, 2, -1)
    with torch.no_grad():
        a, b = unscaled.encode(waveforms, sample=False), scaled.encode(waveforms, sample=False)
        torch.testing.assert_close(b, 2.5 * a)
        torch.testing.assert_close(scaled.decode(b), unscaled.decode(a), atol=1e-5, rtol=1e-4)

    torch.manual_seed(1)
    factor = unscaled.estimate_scale_factor(waveforms)
    unscaled.scale_factor = factor
    torch.manual_seed(1)  # the same posterior sample, now scaled: unit standard deviation
    with torch.no_grad():
        assert unscaled.encode(waveforms).std().item() == pytest.approx(1.0, rel=1e-4)


def test_posterior_kl_matches_torch_distributions():
    moments = torch.randn(3, 8, 4, 5, generator=torch.Generator().manual_seed(2))
    posterior = DiagonalGaussian(moments)
    q = Normal(posterior.mean, posterior.std)
    expected = kl_divergence(q, Normal(torch.zeros_like(posterior.mean), torch.ones_like(posterior.std))).flatten(1).sum(1)
    torch.testing.assert_close(posterior.kl(), expected, atol=1e-5, rtol=1e-5)


def test_training_loss_is_reconstruction_plus_weighted_kl_per_input_element():
    torch.manual_seed(3)
    vae = MelVAE(**TINY, kl_weight=0.25, reconstruction="l2")
    mel = vae.training_inputs(harmonic_clips(16))
    torch.manual_seed(4)
    loss, logs = vae.training_loss(mel)
    torch.manual_seed(4)
    reconstruction, posterior = vae(mel)
    expected_rec = (reconstruction - mel).square().mean()
    expected_kl = posterior.kl().mean() / (16 * 64)
    assert logs["reconstruction"] == pytest.approx(expected_rec.item(), rel=1e-5)
    assert logs["kl"] == pytest.approx(expected_kl.item(), rel=1e-5)
    assert loss.item() == pytest.approx((expected_rec + 0.25 * expected_kl).item(), rel=1e-5)


def test_tiny_vae_overfits_a_batch_of_synthetic_mels(record_property):
    """The reconstruction error (posterior mean, L1 on log-mel) falls at least 5x in 120 Adam steps."""
    torch.manual_seed(0)
    vae = MelVAE(base_channels=8, channel_multipliers=[1, 2, 4], res_blocks=1, norm_groups=8, kl_weight=1e-4)
    mel = vae.training_inputs(harmonic_clips(32))  # [4, 1, 32, 64]
    optimizer = torch.optim.Adam(vae.generator_parameters(), lr=3e-3)

    def error() -> float:
        with torch.no_grad():
            reconstruction, _ = vae(mel, sample=False)
        return (reconstruction - mel).abs().mean().item()

    before, started = error(), time.perf_counter()
    for _ in range(120):
        loss, _ = vae.training_loss(mel)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    after = error()
    record_property("l1_before", before)
    record_property("l1_after", after)
    print(f"mel_vae overfit: L1 {before:.3f} -> {after:.3f} ({before / after:.1f}x) in {time.perf_counter() - started:.1f} s")
    assert before / after >= 5.0


def test_adversarial_term_starts_at_its_step_and_trains_only_the_discriminator():
    torch.manual_seed(5)
    vae = MelVAE(**TINY, adversarial=True, adversarial_start=10, discriminator_channels=8, discriminator_layers=2)
    mel = vae.training_inputs(harmonic_clips(16))
    generator_ids = {id(p) for p in vae.generator_parameters()}
    discriminator_ids = {id(p) for p in vae.discriminator_parameters()}
    assert generator_ids.isdisjoint(discriminator_ids)
    assert generator_ids | discriminator_ids == {id(p) for p in vae.parameters()}

    _, early = vae.training_loss(mel, step=9)
    assert "adversarial" not in early
    loss, late = vae.training_loss(mel, step=10)
    assert {"adversarial", "adversarial_weight"} <= set(late) and late["adversarial_weight"] > 0
    assert loss.item() == pytest.approx(late["loss"])

    off, _ = vae.discriminator_loss(mel, step=9)
    assert off.item() == 0.0
    vae.zero_grad()
    on, logs = vae.discriminator_loss(mel, step=10)
    on.backward()
    assert on.item() > 0 and set(logs) == {"discriminator", "logits_real", "logits_fake"}
    assert all(p.grad is None or p.grad.abs().sum() == 0 for p in vae.generator_parameters())
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in vae.discriminator_parameters())


def test_bad_configurations_and_inputs_are_explained():
    with pytest.raises(UserError, match=r"n_mels \(66\) must be divisible by the downsampling factor 4"):
        MelVAE(**TINY, mel=MelConfig(n_mels=66))
    with pytest.raises(UserError, match="norm_groups"):
        MelVAE(**{**TINY, "norm_groups": 3})
    with pytest.raises(UserError, match="adversarial: true"):
        MelVAE(**TINY).discriminator_loss(torch.zeros(1, 1, 8, 64))
    with pytest.raises(ValueError, match=r"\[N, 1, T, 64\]"):
        MelVAE(**TINY).training_loss(torch.zeros(1, 1, 64, 8))
    with pytest.raises(ValueError, match=r"\[B, S, 8, T, 16\]"):
        MelVAE(**TINY).decode(torch.zeros(1, 1, 4, 8, 16))
    with pytest.raises(ValueError, match=r"\[B, S, L\]"):
        MelVAE(**TINY).encode(torch.zeros(1, 3200))


def test_init_loads_musicldm_ldm_layout_first_stage_weights(tmp_path):
    """``init:`` with an LDM checkpoint: the autoencoder's keys are MusicLDM's ``first_stage_model.*``."""
    from synctrack import get_registry
    from synctrack.interfaces import Encoder
    from synctrack.recipe import build

    torch.manual_seed(6)
    source = MelVAE(**TINY).eval()
    state = {f"first_stage_model.{k}": v for k, v in source.autoencoder.state_dict().items()}
    state["first_stage_model.loss.logvar"] = torch.zeros(())  # LDM's loss module: excluded
    state["model.diffusion_model.out.2.bias"] = torch.zeros(8)  # the U-Net of the same file: not the VAE's
    path = tmp_path / "musicldm.ckpt"
    torch.save({"state_dict": state}, path)
    loaded = build({"type": "mel_vae", **TINY, "init": {"from": str(path)}}, Encoder, get_registry()).eval()
    waveforms = harmonic_clips(16).reshape(2, 2, -1)
    with torch.no_grad():
        torch.testing.assert_close(loaded.encode(waveforms, sample=False), source.encode(waveforms, sample=False))
    assert len(loaded.pretrained_report.loaded) == len(source.autoencoder.state_dict())


def test_scale_factor_estimate_in_chunks_matches_one_pass_and_is_seeded():
    torch.manual_seed(0)
    vae = MelVAE(**TINY).eval()
    waveforms = harmonic_clips(16).reshape(4, 1, -1)
    whole = vae.estimate_scale_factor(waveforms, generator=torch.Generator().manual_seed(3))
    chunked = vae.estimate_scale_factor(waveforms, generator=torch.Generator().manual_seed(3), chunk=1)
    assert chunked == pytest.approx(whole, rel=0.03)  # other noise draws, the same statistic
    assert vae.estimate_scale_factor(waveforms, generator=torch.Generator().manual_seed(3), chunk=1) == chunked
    with torch.no_grad():  # the one-pass value is 1 / torch.std of those very samples
        posterior = vae.autoencoder.encode(vae.training_inputs(waveforms))
        reference = 1.0 / posterior.sample(torch.Generator().manual_seed(3)).std()
    assert whole == pytest.approx(float(reference), rel=1e-5)


def test_scale_factor_unset_is_one_and_marked_as_not_from_the_recipe():
    assert MelVAE(**TINY).scale_factor == 1.0 and not MelVAE(**TINY).scale_factor_from_recipe
    assert MelVAE(**TINY, scale_factor=1.0).scale_factor_from_recipe
