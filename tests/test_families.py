"""The family contract: every built-in denoiser family runs the same road, recipe -> build -> train (the real
trainer, two steps) -> sample -> WAV files, through the same CLI; and ``synctrack sample --mixture``
separates with the models that can, and refuses with the ones that cannot."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile
import torch

from synctrack import get_registry, load_recipe
from synctrack.cli import main

REPO = Path(__file__).resolve().parents[1]

# one tiny recipe per denoiser family
FAMILIES = {
    "unet2d": REPO / "recipes/tiny.yaml",
    "unet1d": REPO / "recipes/baselines/msdm-tiny.yaml",
    "unet3d": REPO / "recipes/baselines/msgld-tiny.yaml",
}
SHRINK = ["train.steps=2", "train.batch_size=2", "train.checkpoint_every=2", "data.num_songs=4"]


@pytest.fixture(autouse=True)
def one_thread():
    """Tiny models run fastest on one thread, and the machine is shared."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    captured = capsys.readouterr()
    return code, captured.out, " ".join(captured.err.split())  # rich wraps long messages


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Each family trained for two steps by ``synctrack train`` (once for the module): family -> run folder."""
    root = tmp_path_factory.mktemp("families")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    folders = {}
    try:
        for family, recipe in FAMILIES.items():
            folders[family] = root / family
            code = main(["train", str(recipe), *SHRINK, "--out", str(folders[family]), "--no-progress"])
            assert code == 0, family
    finally:
        torch.set_num_threads(threads)
    return folders


def clips(family):
    """``(sample rate, samples per clip, track names)`` of a family's training data, from its dataset."""
    dataset = load_recipe(FAMILIES[family], SHRINK).build("data")
    return dataset.sample_rate, dataset[0]["audio"].shape[-1], dataset.track_names


def test_every_builtin_denoiser_family_has_a_tiny_recipe():
    builtin = {part.name for part in get_registry().parts("denoiser") if part.plugin.startswith("synctrack.plugins.")}
    assert builtin == set(FAMILIES)
    for family, path in FAMILIES.items():
        assert load_recipe(path).get("model.denoiser.type") == family


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_build_train_sample_write(family, runs, tmp_path, capsys):
    rate, clip, tracks = clips(family)
    assert (runs[family] / "checkpoints" / "step_00000002" / "model.safetensors").is_file()
    assert f"type: {family}" in (runs[family] / "recipe.yaml").read_text()

    code, out, err = run(capsys, "sample", runs[family], "--num", 2, "--steps", 2, "--out", tmp_path / "gen")
    assert code == 0, err
    assert "wrote 2 song(s)" in out
    for song in ("song_000", "song_001"):
        folder = tmp_path / "gen" / song
        assert {p.name for p in folder.iterdir()} == {f"{name}.wav" for name in [*tracks, "mix"]} | {"mels.png"}
        for name in [*tracks, "mix"]:
            audio, file_rate = soundfile.read(folder / f"{name}.wav")
            assert file_rate == rate and audio.shape == (clip,), (family, name)
            assert np.isfinite(audio).all()


def write_mixture(path, rate, seconds=2.0):
    """A two-tone mixture (longer than a clip: it is cut to the clip)."""
    t = np.arange(int(seconds * rate)) / rate
    soundfile.write(path, (0.3 * np.sin(2 * np.pi * 110 * t) + 0.2 * np.sin(2 * np.pi * 330 * t)).astype(np.float32), rate)
    return path


def test_msdm_separates_by_a_sum_constraint(runs, tmp_path, capsys):
    mixture_file = write_mixture(tmp_path / "mix.wav", 4000)
    # few Euler steps diverge on the constrained ODE (see docs/models.md): MSDM separates with 150
    code, out, err = run(capsys, "sample", runs["unet1d"], "--steps", 50, "--out", tmp_path / "sep", "--mixture", mixture_file,
                         "--mixture-track", "piano")
    assert code == 0, err
    assert "by a sum constraint" in " ".join(out.split())
    mixture = soundfile.read(mixture_file)[0][:4096]
    tracks = np.stack([soundfile.read(tmp_path / "sep" / "song_000" / f"{name}.wav")[0] for name in ("bass", "drums", "guitar", "piano")])
    unclipped = (np.abs(tracks) < 0.999).all(0)  # the files clip each track at +-1
    assert unclipped.mean() > 0.9
    assert np.abs(tracks.sum(0) - mixture)[unclipped].max() < 4 * 2 / 32768  # 16-bit files, four tracks


def test_msgld_separates_with_the_mixture_as_its_condition(runs, tmp_path, capsys):
    mixture_file = write_mixture(tmp_path / "mix.wav", 8000)
    code, out, err = run(capsys, "sample", runs["unet3d"], "--steps", 2, "--out", tmp_path / "sep", "--mixture", mixture_file,
                         "--guidance", 2)
    assert code == 0, err
    assert "as the condition" in " ".join(out.split())
    assert soundfile.read(tmp_path / "sep" / "song_000" / "bass.wav")[0].shape == (4096,)


@pytest.mark.parametrize(
    ("family", "options", "fragment"),
    [
        ("unet2d", ["--mixture", "MIX"], "this model cannot use a mixture: its denoiser 'unet2d' takes no mixture condition"),
        ("unet1d", ["--guidance", "2"], "--guidance applies to conditional models"),
        ("unet1d", ["--mixture", "MIX", "--mixture-track", "violin"], "--mixture-track 'violin': this model has no such track"),
        ("unet3d", ["--mixture", "MIX", "--mixture-track", "bass"], "--mixture-track applies to separation by a sum constraint"),
        ("unet3d", ["--mixture-track", "bass"], "--mixture-track needs --mixture"),
    ],
)
def test_mixture_options_a_model_cannot_use_exit_2(family, options, fragment, runs, tmp_path, capsys):
    mixture_file = write_mixture(tmp_path / "mix.wav", clips(family)[0])
    options = [str(mixture_file) if option == "MIX" else option for option in options]
    code, _, err = run(capsys, "sample", runs[family], "--steps", 2, "--out", tmp_path / "out", *options)
    assert code == 2
    assert fragment in err, err
    assert "Traceback" not in err
