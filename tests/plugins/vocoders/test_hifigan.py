"""hifigan: MusicLDM's configuration, output length frames x 160, checkpoints in the original HiFi-GAN key
layout (checked against a functional reference), every weight-norm spelling, and clear errors."""

from __future__ import annotations

import math
import warnings

import pytest
import torch
import torch.nn.functional as F
from safetensors.torch import save_file
from torch import nn

from synctrack import get_registry
from synctrack.audio import MelConfig
from synctrack.errors import UserError
from synctrack.interfaces import Vocoder
from synctrack.plugins.vocoders import HifiGanVocoder
from synctrack.plugins.vocoders.weight_norm_checkpoint import CheckpointError
from synctrack.recipe import build

pytestmark = pytest.mark.usefixtures("one_thread")

TINY = dict(upsample_initial_channel=32, resblock_kernel_sizes=[3, 5], resblock_dilation_sizes=[[1, 3], [1, 2]])
RATES, KERNELS = [5, 4, 2, 2, 2], [16, 16, 8, 4, 4]


def random_mel(*shape: int, seed: int = 0) -> torch.Tensor:
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed)) - 4.0


# -- an official-style checkpoint and a functional reference of the original generator -----------------------


def official_generator_state(n_mels=64, channels=32, rb_kernels=(3, 5), rb_dilations=((1, 3), (1, 2)), seed=0) -> dict:
    """The key layout of HiFi-GAN's ``g_XXXXXXXX`` files, made as the official code makes it: plain
    convolutions under the old ``torch.nn.utils.weight_norm`` (``weight_g`` / ``weight_v``)."""
    torch.manual_seed(seed)
    old_weight_norm = torch.nn.utils.weight_norm
    root = nn.Module()
    root.conv_pre = nn.Conv1d(n_mels, channels, 7, padding=3)
    root.ups, root.resblocks = nn.ModuleList(), nn.ModuleList()
    width = channels
    for rate, kernel in zip(RATES, KERNELS):
        root.ups.append(nn.ConvTranspose1d(width, width // 2, kernel, rate, padding=(kernel - rate) // 2))
        width //= 2
        for size, dilations in zip(rb_kernels, rb_dilations):
            block = nn.Module()
            block.convs1 = nn.ModuleList(nn.Conv1d(width, width, size, dilation=d) for d in dilations)
            block.convs2 = nn.ModuleList(nn.Conv1d(width, width, size) for _ in dilations)
            root.resblocks.append(block)
    root.conv_post = nn.Conv1d(width, 1, 7, padding=3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the old API is deprecated; the files in the wild still use its names
        for module in list(root.modules()):
            if isinstance(module, (nn.Conv1d, nn.ConvTranspose1d)):
                old_weight_norm(module)
    state = {key: value.detach().clone() for key, value in root.state_dict().items()}
    for key in state:  # g != ||v||, so a loader that ignored g would be caught
        if key.endswith(("weight_g", "bias")):
            state[key] = state[key] * (1.0 + 0.5 * torch.rand(state[key].shape))
    return state


def reference_forward(state: dict, mel: torch.Tensor, rb_kernels=(3, 5), rb_dilations=((1, 3), (1, 2))) -> torch.Tensor:
    """HiFi-GAN V1's forward written out with functional ops on a weight_g/weight_v state dict: ``[N, M, T]``
    -> ``[N, L]`` (not cropped)."""

    def weight(name: str) -> torch.Tensor:
        g, v = state[f"{name}.weight_g"], state[f"{name}.weight_v"]
        return g * v / v.flatten(1).norm(dim=1).reshape(-1, *([1] * (v.dim() - 1)))

    x = F.conv1d(mel, weight("conv_pre"), state["conv_pre.bias"], padding=3)
    for i, (rate, kernel) in enumerate(zip(RATES, KERNELS)):
        x = F.conv_transpose1d(F.leaky_relu(x, 0.1), weight(f"ups.{i}"), state[f"ups.{i}.bias"], stride=rate, padding=(kernel - rate) // 2)
        total = 0
        for j, (size, dilations) in enumerate(zip(rb_kernels, rb_dilations)):
            name, y = f"resblocks.{i * len(rb_kernels) + j}", x
            for m, d in enumerate(dilations):
                t = F.conv1d(F.leaky_relu(y, 0.1), weight(f"{name}.convs1.{m}"), state[f"{name}.convs1.{m}.bias"], dilation=d, padding=(size * d - d) // 2)
                t = F.conv1d(F.leaky_relu(t, 0.1), weight(f"{name}.convs2.{m}"), state[f"{name}.convs2.{m}.bias"], padding=(size - 1) // 2)
                y = y + t
            total = total + y
        x = total / len(rb_kernels)
    x = F.conv1d(F.leaky_relu(x, 0.01), weight("conv_post"), state["conv_post.bias"], padding=3)
    return torch.tanh(x)[:, 0]


# -- length and configuration ---------------------------------------------------------------------------------


def test_paper_configuration_gives_frames_times_160_samples():
    vocoder = HifiGanVocoder().eval()  # MusicLDM: [5, 4, 2, 2, 2], kernels [16, 16, 8, 4, 4], 1024 channels, 64 mels
    assert vocoder.sample_rate == 16000 and vocoder.mel_config == MelConfig()
    assert 50e6 < sum(p.numel() for p in vocoder.parameters()) < 60e6  # 55.3M with 1024 initial channels
    with torch.no_grad():
        assert vocoder(random_mel(1, 2, 64, 6)).shape == (1, 2, 6 * 160)


@pytest.mark.parametrize("frames", [1, 7, 32])
def test_tiny_configuration_gives_frames_times_hop_for_any_tracks(frames):
    vocoder = HifiGanVocoder(**TINY).eval()
    with torch.no_grad():
        out = vocoder(random_mel(2, 3, 64, frames))
        assert out.shape == (2, 3, frames * 160) and out.abs().max() <= 1.0
        torch.testing.assert_close(out[1, 2], vocoder(random_mel(2, 3, 64, frames)[1:, 2:])[0, 0])


def test_a_hop_other_than_160_needs_matching_upsample_rates():
    config = MelConfig(hop_length=256, n_mels=80)
    vocoder = HifiGanVocoder(mel=config, upsample_rates=[8, 8, 2, 2], upsample_kernel_sizes=[16, 16, 4, 4], **TINY)
    assert vocoder(random_mel(1, 1, 80, 5)).shape == (1, 1, 5 * 256)
    with pytest.raises(UserError, match=r"product of upsample_rates \[5, 4, 2, 2, 2\] is 160.*hop_length = 256"):
        HifiGanVocoder(mel=config, **TINY)
    with pytest.raises(UserError, match="differ in length"):
        HifiGanVocoder(upsample_kernel_sizes=[16, 16, 8, 4], **TINY)


# -- checkpoints ----------------------------------------------------------------------------------------------


def test_an_official_checkpoint_loads_and_matches_the_reference_generator(tmp_path):
    state = official_generator_state()
    path = tmp_path / "g_00500000"
    torch.save({"generator": state, "steps": 500000}, path)  # as HiFi-GAN's train.py writes it (plus extras)
    vocoder = HifiGanVocoder(**TINY, checkpoint=str(path)).eval()
    mel = random_mel(3, 64, 9, seed=1)
    expected = reference_forward(state, mel)
    assert expected.shape[-1] == 9 * 160 + 32  # the transposed convolutions overhang; we crop to frames * hop
    with torch.no_grad():
        ours = vocoder(mel[None])[0]
    torch.testing.assert_close(ours, expected[:, : 9 * 160], atol=1e-5, rtol=1e-4)


def test_a_checkpoint_builds_from_a_recipe_node(tmp_path):
    path = tmp_path / "g.pt"
    torch.save(official_generator_state(), path)  # a bare state dict
    node = {"type": "hifigan", **TINY, "checkpoint": str(path), "remove_weight_norm": True}
    vocoder = build(node, Vocoder, get_registry())
    mel = random_mel(2, 64, 4, seed=2)
    with torch.no_grad():
        torch.testing.assert_close(vocoder(mel[None])[0], reference_forward(official_generator_state(), mel)[:, :640], atol=1e-5, rtol=1e-4)


@pytest.mark.parametrize("spelling", ["parametrizations", "plain", "safetensors"])
def test_every_weight_norm_spelling_loads_into_either_model_form(tmp_path, spelling):
    source = HifiGanVocoder(**TINY, checkpoint=None).eval()
    with torch.no_grad():
        for parameter in source.parameters():
            parameter.mul_(1.0 + 0.3 * torch.rand(parameter.shape))
    mel = random_mel(1, 2, 64, 5, seed=3)
    with torch.no_grad():
        expected = source(mel)
    if spelling == "plain":
        source.remove_weight_norm()
    state = source.generator.state_dict()
    assert any(".parametrizations.weight.original0" in k for k in state) == (spelling != "plain")
    path = tmp_path / ("g.safetensors" if spelling == "safetensors" else "g.pt")
    if spelling == "safetensors":
        save_file({k: v.contiguous() for k, v in state.items()}, str(path))
    else:
        torch.save(state, path)
    for remove in (False, True):
        loaded = HifiGanVocoder(**TINY, checkpoint=str(path), remove_weight_norm=remove).eval()
        with torch.no_grad():
            torch.testing.assert_close(loaded(mel), expected, atol=1e-5, rtol=1e-4)


def test_remove_weight_norm_keeps_the_output_and_plain_weights():
    vocoder = HifiGanVocoder(**TINY).eval()
    mel = random_mel(1, 1, 64, 6, seed=4)
    with torch.no_grad():
        before = vocoder(mel)
        vocoder.remove_weight_norm()
        after = vocoder(mel)
    torch.testing.assert_close(after, before, atol=1e-6, rtol=1e-5)
    keys = list(vocoder.generator.state_dict())
    assert "conv_pre.weight" in keys and not any("parametrizations" in k or "weight_g" in k for k in keys)


def test_a_wrong_shape_checkpoint_names_the_key_and_both_shapes(tmp_path):
    path = tmp_path / "g_80mels"
    torch.save({"generator": official_generator_state(n_mels=80)}, path)
    with pytest.raises(CheckpointError) as caught:
        HifiGanVocoder(**TINY, checkpoint=str(path))
    message = str(caught.value)
    assert str(path) in message and "'conv_pre.weight_v'" in message
    assert "(32, 80, 7)" in message and "(32, 64, 7)" in message


def test_missing_unexpected_and_unreadable_checkpoints_are_explained(tmp_path):
    with pytest.raises(CheckpointError, match=f"{tmp_path / 'nowhere.pt'}: checkpoint file not found"):
        HifiGanVocoder(**TINY, checkpoint=str(tmp_path / "nowhere.pt"))
    garbage = tmp_path / "garbage.pt"
    garbage.write_bytes(b"not a checkpoint at all")
    with pytest.raises(CheckpointError, match="garbage.pt: cannot read the checkpoint"):
        HifiGanVocoder(**TINY, checkpoint=str(garbage))
    three_kernels = tmp_path / "three.pt"  # a generator with more resblocks per stage than the recipe says
    torch.save({"generator": official_generator_state(rb_kernels=(3, 5, 7), rb_dilations=((1, 3), (1, 2), (1, 2)))}, three_kernels)
    with pytest.raises(CheckpointError, match=r"three.pt.*(missing|unexpected) keys: .*resblocks"):
        HifiGanVocoder(**TINY, checkpoint=str(three_kernels))
    partial = tmp_path / "partial.pt"
    state = official_generator_state()
    del state["conv_post.weight_g"], state["conv_post.weight_v"]
    torch.save(state, partial)
    with pytest.raises(CheckpointError, match=r"missing keys: conv_post.weight_g/weight_v"):
        HifiGanVocoder(**TINY, checkpoint=str(partial))
    assert issubclass(CheckpointError, UserError)


def test_output_length_formula_holds_for_the_paper_kernels():
    """Why the crop exists: with kernels [16, 16, 8, 4, 4] the raw output is 160 * frames + 32 samples."""
    length = 11
    for rate, kernel in zip(RATES, KERNELS):
        length = (length - 1) * rate - 2 * ((kernel - rate) // 2) + kernel
    assert length == 11 * math.prod(RATES) + 32


def test_init_loads_the_vocoder_of_an_ldm_checkpoint(tmp_path):
    """``init:`` with MusicLDM's combined checkpoint: the generator sits under ``first_stage_model.vocoder.``."""
    from synctrack.pretrained import PretrainedError

    state = official_generator_state(seed=7)
    path = tmp_path / "musicldm.ckpt"
    torch.save({"state_dict": {f"first_stage_model.vocoder.{k}": v for k, v in state.items()}}, path)
    vocoder = build({"type": "hifigan", **TINY, "init": {"from": str(path), "strict": True}}, Vocoder, get_registry()).eval()
    mel = random_mel(2, 64, 5, seed=8)
    with torch.no_grad():
        torch.testing.assert_close(vocoder(mel[None])[0], reference_forward(state, mel)[:, :800], atol=1e-5, rtol=1e-4)
    with pytest.raises(PretrainedError, match="remove_weight_norm: true"):
        build({"type": "hifigan", **TINY, "remove_weight_norm": True, "init": {"from": str(path)}}, Vocoder, get_registry())
