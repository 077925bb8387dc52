"""hifigan starts from a diffusers ``vocoder/`` folder (transformers' SpeechT5HifiGan layout: ``upsampler.i``,
plain weights without weight norm): the generator rebuilds weight norm from the plain weights exactly."""

from __future__ import annotations

import json

import pytest
import torch
from safetensors.torch import save_file

from synctrack import UserError, get_registry
from synctrack.interfaces import Vocoder
from synctrack.recipe import build

SMALL = {"upsample_initial_channel": 32, "resblock_kernel_sizes": [3, 5], "resblock_dilation_sizes": [[1, 3], [1, 3]]}


def speecht5_folder(tmp_path, plain_state, normalize_before=False):
    """Write a diffusers vocoder/ folder from a weight-norm-free generator state (our names)."""
    folder = tmp_path / "vocoder"
    folder.mkdir(parents=True, exist_ok=True)
    renamed = {key.removeprefix("generator.").replace("ups.", "upsampler.", 1): value.contiguous() for key, value in plain_state.items()}
    save_file(renamed, str(folder / "diffusion_pytorch_model.safetensors"))
    config = {"model_in_dim": 64, "sampling_rate": 16000, "upsample_initial_channel": 32, "upsample_rates": [5, 4, 2, 2, 2],
              "upsample_kernel_sizes": [16, 16, 8, 4, 4], "resblock_kernel_sizes": [3, 5],
              "resblock_dilation_sizes": [[1, 3], [1, 3]], "normalize_before": normalize_before}
    (folder / "config.json").write_text(json.dumps(config))
    return tmp_path


def test_diffusers_vocoder_loads_with_weight_norm_rebuilt(tmp_path):
    torch.manual_seed(3)
    reference = build({"type": "hifigan", **SMALL}, Vocoder, get_registry()).eval()
    reference.remove_weight_norm()
    root = speecht5_folder(tmp_path, reference.state_dict())
    ours = build({"type": "hifigan", **SMALL, "init": {"from": str(root)}}, Vocoder, get_registry()).eval()
    mel = torch.randn(1, 2, 64, 12, generator=torch.Generator().manual_seed(0)) - 4
    with torch.no_grad():
        torch.testing.assert_close(ours(mel), reference(mel), rtol=1e-5, atol=1e-6)
    assert ours.pretrained_report.unexpected == [] and ours.pretrained_report.new == []


def test_normalised_input_vocoders_are_refused(tmp_path):
    reference = build({"type": "hifigan", **SMALL}, Vocoder, get_registry())
    reference.remove_weight_norm()
    root = speecht5_folder(tmp_path, reference.state_dict(), normalize_before=True)
    with pytest.raises(UserError, match="normalize_before: true"):
        build({"type": "hifigan", **SMALL, "init": {"from": str(root)}}, Vocoder, get_registry())


def test_a_generator_file_whose_pickle_would_run_code_names_the_blocked_call(tmp_path):
    import os

    from synctrack.plugins.vocoders.weight_norm_checkpoint import read_generator_state

    class Payload:
        def __reduce__(self):
            return (os.system, (f"touch {tmp_path / 'ran'}",))

    torch.save({"generator": {"x": torch.zeros(1)}, "extra": Payload()}, tmp_path / "g_00000001")
    with pytest.raises(UserError) as caught:
        read_generator_state(tmp_path / "g_00000001")
    assert "refusing to load" in str(caught.value) and "(it would call posix.system)" in str(caught.value)
    assert "Weights only load failed" not in str(caught.value) and not (tmp_path / "ran").exists()
