"""unet2d starts from MusicLDM's U-Net: a tiny diffusers UNet2DConditionModel with MusicLDM's block structure
(random weights, saved by the test) and the same weights in the LDM key layout both import, and with the
mixers off (or zero-initialised) synctrack's output equals diffusers'."""

from __future__ import annotations

import re

import pytest
import torch

from synctrack import RecipeError, TrackInfo, UserError, get_registry
from synctrack.interfaces import Denoiser
from synctrack.recipe import build

diffusers = pytest.importorskip("diffusers")

BLOCKS = (16, 32, 48)
HEAD_DIM = 8
VOCABULARY = ["bass", "drums", "guitar", "piano"]


def musicldm_like_unet():
    """MusicLDM's U-Net structure at toy size: no attention at the first level, FiLM class embedding concatenated."""
    torch.manual_seed(0)
    model = diffusers.UNet2DConditionModel(
        sample_size=16,
        in_channels=4,
        out_channels=4,
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "UpBlock2D"),
        block_out_channels=BLOCKS,
        layers_per_block=2,
        cross_attention_dim=BLOCKS,
        attention_head_dim=[c // HEAD_DIM for c in BLOCKS],
        norm_num_groups=8,
        class_embed_type="simple_projection",
        projection_class_embeddings_input_dim=12,
        class_embeddings_concat=True,
    )
    with torch.no_grad():
        for parameter in model.parameters():  # zero-initialised outputs would hide mapping mistakes
            parameter.add_(torch.randn_like(parameter) * 0.05)
    return model.eval()


def recipe_node(init, mixers=(), zero_init=False, **extra):
    return {
        "type": "unet2d",
        "in_channels": 4,
        "base_channels": 16,
        "channel_multipliers": [1, 2, 3],
        "res_blocks": 2,
        "attention_levels": [2, 4],
        "middle_attention": True,
        "head_dim": HEAD_DIM,
        "norm_groups": 8,
        "mixers": [{**m, "zero_init": zero_init} for m in mixers],
        "conditioner": {"type": "instrument_embedding", "vocabulary": VOCABULARY, "embedding_dim": 12},
        "init": init,
        **extra,
    }


def compare(ours, reference, seed=0):
    """Run both on the same song batch: ours on [B, S, ...] with tracks, diffusers on [B*S, ...] with the
    conditioner's embeddings as class labels."""
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(2, 3, 4, 16, 8, generator=generator)
    levels = torch.tensor([17.0, 801.0])
    tracks = TrackInfo(torch.tensor([[0, 1, 3], [2, 2, 0]]), torch.ones(2, 3, dtype=torch.bool))
    with torch.no_grad():
        mine = ours(x, levels, tracks)
        labels = ours.conditioner(tracks).reshape(6, -1)
        theirs = reference(x.reshape(6, 4, 16, 8), levels.repeat_interleave(3), encoder_hidden_states=None, class_labels=labels).sample
    return mine.reshape(6, 4, 16, 8), theirs


def relative_error(a, b):
    return float((a - b).norm() / b.norm())


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    root = tmp_path_factory.mktemp("musicldm")
    model = musicldm_like_unet()
    model.save_pretrained(root / "unet")
    return root, model


def test_diffusers_folder_imports_and_matches(saved):
    root, reference = saved
    ours = build(recipe_node({"from": str(root)}), Denoiser, get_registry()).eval()
    mine, theirs = compare(ours, reference)
    assert relative_error(mine, theirs) <= 1e-5
    report = ours.pretrained_report
    assert report.unexpected == [] and report.format == "diffusers"
    assert all(key.startswith("conditioner.") for key in report.new)
    assert len(report.loaded) == len(reference.state_dict())


@pytest.mark.parametrize("mixers", [
    [{"type": "global_cross_track", "head_dim": 8}],
    [{"type": "global_cross_track", "head_dim": 8}, {"type": "time_cross_track", "head_dim": 8}],
])
def test_zero_init_mixers_keep_the_pretrained_output_and_are_reported_new(saved, mixers):
    root, reference = saved
    ours = build(recipe_node({"from": str(root / "unet")}, mixers, zero_init=True), Denoiser, get_registry()).eval()
    mine, theirs = compare(ours, reference)
    assert relative_error(mine, theirs) <= 1e-5
    new = ours.pretrained_report.new
    assert any(".mixers." in key for key in new)
    assert all(".mixers." in key or key.startswith("conditioner.") for key in new)


def to_ldm(diffusers_state, layers_per_block=2, levels=3):
    """The same weights under MusicLDM's original (openaimodel) names, written here from LDM's layout."""
    renames = [("norm1", "in_layers.0"), ("conv1", "in_layers.2"), ("time_emb_proj", "emb_layers.1"),
               ("norm2", "out_layers.0"), ("conv2", "out_layers.3"), ("conv_shortcut", "skip_connection")]
    out = {}
    for key, value in diffusers_state.items():
        new = key
        fixed = {"conv_in": "input_blocks.0.0", "conv_norm_out": "out.0", "conv_out": "out.2",
                 "class_embedding": "film_emb", "time_embedding.linear_1": "time_embed.0", "time_embedding.linear_2": "time_embed.2"}
        for old, replacement in fixed.items():
            if new.startswith(old + "."):
                new = replacement + new[len(old):]
        match = re.match(r"down_blocks\.(\d+)\.(resnets|attentions|downsamplers)\.(\d+)\.(.*)", key)
        if match:
            block, kind, index, rest = int(match[1]), match[2], int(match[3]), match[4]
            if kind == "downsamplers":
                new = f"input_blocks.{1 + block * (layers_per_block + 1) + layers_per_block}.0.{rest.replace('conv.', 'op.')}"
            else:
                new = f"input_blocks.{1 + block * (layers_per_block + 1) + index}.{0 if kind == 'resnets' else 1}.{rest}"
        match = re.match(r"mid_block\.(resnets|attentions)\.(\d+)\.(.*)", key)
        if match:
            slot = {"resnets": {0: 0, 1: 2}, "attentions": {0: 1}}[match[1]][int(match[2])]
            new = f"middle_block.{slot}.{match[3]}"
        match = re.match(r"up_blocks\.(\d+)\.(resnets|attentions|upsamplers)\.(\d+)\.(.*)", key)
        if match:
            block, kind, index, rest = int(match[1]), match[2], int(match[3]), match[4]
            if kind == "upsamplers":
                has_attention = any(k.startswith(f"up_blocks.{block}.attentions.") for k in diffusers_state)
                new = f"output_blocks.{block * (layers_per_block + 1) + layers_per_block}.{2 if has_attention else 1}.{rest}"
            else:
                new = f"output_blocks.{block * (layers_per_block + 1) + index}.{0 if kind == 'resnets' else 1}.{rest}"
        if ".resnets." in key or "mid_block.resnets" in key:
            for old, replacement in renames:
                new = re.sub(rf"\.{old}\.", f".{replacement}.", new)
        out["model.diffusion_model." + new] = value
    out["first_stage_model.encoder.conv_in.weight"] = torch.zeros(1)  # other components of the checkpoint
    out["cond_stage_model.model.logit_scale"] = torch.zeros(1)
    return out


def test_ldm_checkpoint_imports_the_same_way(saved, tmp_path):
    _, reference = saved
    path = tmp_path / "musicldm.ckpt"
    torch.save({"state_dict": to_ldm(reference.state_dict()), "global_step": 10}, path)
    ours = build(recipe_node({"from": str(path), "format": "ldm"}), Denoiser, get_registry()).eval()
    mine, theirs = compare(ours, reference)
    assert relative_error(mine, theirs) <= 1e-5
    assert ours.pretrained_report.unexpected == [] and ours.pretrained_report.format == "ldm"


def init_in_layout(saved, tmp_path, layout: str) -> dict:
    """The ``init`` node that loads the saved reference U-Net from diffusers' folder or an LDM checkpoint."""
    root, reference = saved
    if layout == "diffusers":
        return {"from": str(root)}
    source = tmp_path / "musicldm.ckpt"
    torch.save({"state_dict": to_ldm(reference.state_dict())}, source)
    return {"from": str(source), "format": "ldm"}


@pytest.mark.parametrize("layout", ["diffusers", "ldm"])
def test_mixer_blocks_leave_the_pretrained_numbering_alone(saved, tmp_path, layout):
    """Mixer blocks sit inside stages, before an upsampler at the deeper level: the source's layer numbers must
    skip them, or every layer after one would read the wrong weights."""
    reference = saved[1]
    init = init_in_layout(saved, tmp_path, layout)
    blocks = {"mixer_block_levels": [1, 2], "mixer_block_mixers": [{"type": "time_cross_track", "scope": "cell",
                                                                   "head_dim": 8, "zero_init": True}]}
    ours = build(recipe_node(init, **blocks), Denoiser, get_registry()).eval()
    assert sum(type(layer).__name__ == "MixerBlock" for stage in ours.output_blocks for layer in stage) == 6
    mine, theirs = compare(ours, reference)
    assert relative_error(mine, theirs) <= 1e-5
    report = ours.pretrained_report
    assert report.unexpected == [] and len(report.loaded) == len(reference.state_dict())
    assert all(".mixers." in key or key.startswith("conditioner.") for key in report.new)


@pytest.mark.parametrize("layout", ["diffusers", "ldm"])
def test_pulse_blocks_leave_the_pretrained_numbering_alone(saved, tmp_path, layout):
    """Pulse blocks, like mixer blocks, have no source layer: MusicLDM loads around them, and fresh ones leave
    its output exactly as it was."""
    reference = saved[1]
    init = init_in_layout(saved, tmp_path, layout)
    ours = build(recipe_node(init, pulse_block_levels=[1, 2, 4], pulse_lags=[2, 8]), Denoiser, get_registry()).eval()
    assert sum(type(layer).__name__ == "PulseBlock" for stage in ours.output_blocks for layer in stage) == 9
    mine, theirs = compare(ours, reference)
    assert relative_error(mine, theirs) <= 1e-5
    report = ours.pretrained_report
    assert report.unexpected == [] and len(report.loaded) == len(reference.state_dict())
    pulse_keys = {f"{prefix}.{index}.{slot}." for prefix in ("input_blocks", "output_blocks")
                  for index, stage in enumerate(getattr(ours, prefix))
                  for slot, layer in enumerate(stage) if type(layer).__name__ == "PulseBlock"}
    assert pulse_keys and all(key.startswith("conditioner.") or any(key.startswith(p) for p in pulse_keys) for key in report.new)
    assert any(key.startswith(p) for key in report.new for p in pulse_keys)  # the blocks' own weights are new


def build_error(node) -> str:
    with pytest.raises(UserError) as caught:
        build(node, Denoiser, get_registry())
    return str(caught.value)


def test_truncated_file_is_a_clear_error(saved, tmp_path):
    _, reference = saved
    whole = tmp_path / "whole.ckpt"
    torch.save({"state_dict": to_ldm(reference.state_dict())}, whole)
    truncated = tmp_path / "truncated.ckpt"
    truncated.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    message = build_error(recipe_node({"from": str(truncated)}))
    assert "truncated.ckpt: cannot read the checkpoint" in message and "truncated" in message


def test_wrong_architecture_names_the_difference(saved):
    root, _ = saved
    node = recipe_node({"from": str(root)})
    node["base_channels"] = 8
    node["channel_multipliers"] = [1, 2, 4]
    message = build_error(node)
    assert "another architecture" in message and "block_out_channels: checkpoint [16, 32, 48], recipe [8, 16, 32]" in message


def test_shape_mismatch_names_the_key_and_both_shapes(saved, tmp_path):
    _, reference = saved
    state = to_ldm(reference.state_dict())
    state["model.diffusion_model.out.2.weight"] = torch.zeros(5, 16, 3, 3)
    torch.save({"state_dict": state}, tmp_path / "bad.ckpt")
    message = build_error(recipe_node({"from": str(tmp_path / "bad.ckpt")}))
    assert "out.2.weight -> out.2.weight: source (5, 16, 3, 3), model.denoiser (4, 16, 3, 3)" in message or \
        "out.2.weight: source (5, 16, 3, 3)" in message


def test_missing_folder_and_missing_component(tmp_path):
    assert "folder not found" in build_error(recipe_node({"from": str(tmp_path / "nothing"), "format": "diffusers"}))
    (tmp_path / "empty").mkdir()
    assert "no unet/config.json" in build_error(recipe_node({"from": str(tmp_path / "empty")}))
    assert "checkpoint file not found" in build_error(recipe_node({"from": str(tmp_path / "none.ckpt")}))


def test_a_pickle_that_would_run_code_is_refused(tmp_path):
    class Payload:
        def __reduce__(self):
            return (print, ("this ran",))

    torch.save({"state_dict": {"x": torch.zeros(1)}, "callback": Payload()}, tmp_path / "evil.ckpt")
    message = build_error(recipe_node({"from": str(tmp_path / "evil.ckpt")}))
    assert "loading them would run code" in message and "allow_pickle" in message
    # the blocked call is named, as for a trainer state; not torch's generic advice to drop weights_only
    assert "(it would call print)" in message
    assert "Weights only load failed" not in message and "weights_only` set to `False`" not in message


def test_strict_refuses_new_keys(saved):
    root, _ = saved
    message = build_error(recipe_node({"from": str(root), "strict": True}))
    assert "init.strict is true" in message and "conditioner." in message


def test_init_keys_are_checked_like_arguments():
    with pytest.raises(RecipeError) as caught:
        build(recipe_node({"from": "x", "format": "ckpt", "strik": True}), Denoiser, get_registry())
    text = str(caught.value)
    assert "init.format: expected one of 'auto', 'ldm', 'diffusers', 'synctrack', got 'ckpt'" in text
    assert "unknown argument 'strik'" in text and "did you mean 'strict'?" in text


def test_cli_check_prints_the_report(saved, tmp_path, cli):
    import yaml

    root, _ = saved
    recipe = tmp_path / "r.yaml"
    node = recipe_node({"from": str(root)}, [{"type": "global_cross_track", "head_dim": 8}], zero_init=True)
    recipe.write_text(yaml.safe_dump({"model": {"denoiser": node}}))
    result = cli("pretrained", "check", str(recipe), env={"COLUMNS": "200"})
    assert result.returncode == 0, result.stderr
    assert "model.denoiser: loaded" in result.stdout and "0 unexpected" in result.stdout
    assert re.search(r"new\s*│\s*input_blocks\.4\.1\.mixers\s*│\s*\d+", result.stdout)  # grouped per block
    missing = cli("pretrained", "check", str(recipe), f"model.denoiser.init.from={tmp_path / 'gone'}")
    message = " ".join(missing.stderr.split())
    assert missing.returncode == 2 and "the init: weight path does not exist" in message
    assert f"model.denoiser.init.from: {tmp_path / 'gone'} (looked at {tmp_path / 'gone'})" in message
