"""mel_vae starts from MusicLDM's VAE in diffusers' layout: a tiny diffusers AutoencoderKL with MusicLDM's
structure (random weights, saved by the test) imports, and encoding and decoding equal diffusers'."""

from __future__ import annotations

import json

import pytest
import torch

from synctrack import UserError, get_registry
from synctrack.interfaces import Encoder
from synctrack.recipe import build

diffusers = pytest.importorskip("diffusers")

WIDTHS = (8, 16, 32)


def musicldm_like_vae():
    """MusicLDM's VAE at toy size: mel images with one channel, three levels, 2 ResBlocks, mid attention."""
    torch.manual_seed(1)
    model = diffusers.AutoencoderKL(
        in_channels=1,
        out_channels=1,
        down_block_types=("DownEncoderBlock2D",) * 3,
        up_block_types=("UpDecoderBlock2D",) * 3,
        block_out_channels=WIDTHS,
        layers_per_block=2,
        latent_channels=4,
        norm_num_groups=4,
    )
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.add_(torch.randn_like(parameter) * 0.05)
    return model.eval()


def node(init):
    return {"type": "mel_vae", "base_channels": 8, "channel_multipliers": [1, 2, 4], "res_blocks": 2,
            "latent_channels": 4, "norm_groups": 4, "init": init}


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    root = tmp_path_factory.mktemp("musicldm")
    model = musicldm_like_vae()
    model.save_pretrained(root / "vae")
    return root, model


def relative_error(a, b):
    return float((a - b).norm() / b.norm())


def test_diffusers_vae_imports_and_matches(saved):
    root, reference = saved
    ours = build(node({"from": str(root)}), Encoder, get_registry()).eval()
    images = torch.randn(2, 1, 32, 16, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        posterior = ours.autoencoder.encode(images)
        theirs = reference.encode(images).latent_dist
        assert relative_error(posterior.mean, theirs.mean) <= 1e-5
        assert relative_error(posterior.logvar, theirs.logvar) <= 1e-5
        z = posterior.mean
        assert relative_error(ours.autoencoder.decode(z), reference.decode(z).sample) <= 1e-5
    report = ours.pretrained_report
    assert report.unexpected == [] and report.new == [] and len(report.loaded) == len(reference.state_dict())


def test_another_architecture_is_named(saved):
    root, _ = saved
    wrong = node({"from": str(root)})
    wrong["latent_channels"] = 8
    with pytest.raises(UserError, match="latent_channels: checkpoint 4, recipe 8"):
        build(wrong, Encoder, get_registry())


def test_a_truncated_safetensors_file_is_named(saved, tmp_path):
    root, _ = saved
    folder = tmp_path / "vae"
    folder.mkdir()
    (folder / "config.json").write_text((root / "vae" / "config.json").read_text())
    whole = (root / "vae" / "diffusion_pytorch_model.safetensors").read_bytes()
    (folder / "diffusion_pytorch_model.safetensors").write_bytes(whole[: len(whole) // 3])
    with pytest.raises(UserError, match="not a readable safetensors file .* is it truncated"):
        build(node({"from": str(tmp_path)}), Encoder, get_registry())


def test_bad_config_json_is_named(tmp_path):
    (tmp_path / "vae").mkdir()
    (tmp_path / "vae" / "config.json").write_text("{not json")
    with pytest.raises(UserError, match=r"config.json: not valid JSON"):
        build(node({"from": str(tmp_path)}), Encoder, get_registry())
    (tmp_path / "vae" / "config.json").write_text(json.dumps({"latent_channels": 4}))
    with pytest.raises(UserError, match="no weights file"):
        build(node({"from": str(tmp_path)}), Encoder, get_registry())
