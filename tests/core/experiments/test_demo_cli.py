"""`synctrack demo`: two models (with and without cross-track attention) from the same noise, side by side;
from the shipped weights by default, from scratch with --train; bad shipped weights are exit 2 naming --train."""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from urllib.parse import unquote

import numpy as np
import pytest
import soundfile

from synctrack.cli.demo import DEMO_RECIPES, WEIGHTS_FOLDER, shipped_weights
from synctrack.experiments.shipped import check_recipe, read_shipped
from synctrack.recipe import load_recipe
from browser import AUDIO_DURATIONS, headless_chromium
from commands import run_cli
from listening_pages import read_page

MODELS = ("bench-synctrack", "bench-no-mixers")


def test_each_shipped_checkpoint_was_trained_with_its_recipe_as_it_is_now(repo):
    for name in DEMO_RECIPES:
        recipe = load_recipe(repo / "recipes" / name).validate()
        shipped = read_shipped(shipped_weights(repo / "recipes", recipe))
        assert shipped.recipe_hash == recipe.content_hash, name
        check_recipe(shipped, recipe)  # the demo's own check passes
        assert shipped.step > 0 and shipped.meta["layout"]["track_names"] == ["bass", "drums", "guitar", "piano"]
    total = sum(p.stat().st_size for p in (repo / "recipes" / WEIGHTS_FOLDER).glob("*.safetensors"))
    assert total <= 10 * 2**20, f"shipped weights hold {total / 2**20:.1f} MB; the demo's budget is 10 MB"


def test_a_recipe_edited_after_training_is_refused(repo):
    recipe = load_recipe(repo / "recipes" / DEMO_RECIPES[0], ["train.ema_decay=0.9"]).validate()
    shipped = read_shipped(shipped_weights(repo / "recipes", load_recipe(repo / "recipes" / DEMO_RECIPES[0])))
    with pytest.raises(Exception, match="different recipe"):
        check_recipe(shipped, recipe)


def check_side_by_side(result, out, songs):
    for name in MODELS:
        assert name in result.stdout
        for song in range(songs):
            folder = out / name / "samples" / f"song_{song:03d}"
            assert {"bass.wav", "drums.wav", "guitar.wav", "piano.wav", "mix.wav", "beats.png"} <= {p.name for p in folder.iterdir()}
    for fragment in ("CBS", "CBD", "beating tracks", "held-out songs", "side by side:"):
        assert fragment in result.stdout, fragment
    assert sorted(p.name for p in (out / "side-by-side").glob("*.png")) == [f"song_{i:03d}.png" for i in range(songs)]
    page = read_page(out)  # the listening page: both models' songs side by side, the held-out songs below
    assert len(page.audio) >= 2 * songs * 5 and "held-out songs" in " ".join(page.text)
    assert f"{MODELS[0]}/samples/song_000/beats.png" in page.images and "comparison.png" in page.images


def test_demo_from_scratch_with_a_tiny_step_count(cli, tmp_path, tiny_overrides, tiny_env):
    out = tmp_path / "demo"
    result = cli("demo", "--steps", "2", "--songs", "2", "--tracker", "librosa", "--out", str(out), *tiny_overrides,
                 env={**tiny_env, "COLUMNS": "250"})
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    assert "(trained now)" in result.stdout
    check_side_by_side(result, out, 2)
    assert "sync gap closed" in result.stdout or "beating tracks against" in result.stdout


@pytest.fixture(scope="module")
def shipped_demo(tmp_path_factory):
    """``synctrack demo --mixer-guidance 2`` from the shipped weights, one song, two sampler steps: (the process,
    its --out). The two-column demo runs in the test from scratch."""
    root = tmp_path_factory.mktemp("shipped-demo")
    out = root / "demo"
    result = run_cli("demo", "--songs", "1", "--sample-steps", "2", "--tracker", "librosa", "--out", str(out),
                     "--mixer-guidance", "2", env={"SYNCTRACK_CACHE": str(root / "cache"), "COLUMNS": "250"})
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    return result, out


def test_demo_from_the_shipped_weights(shipped_demo):
    result, out = shipped_demo
    assert "(shipped weights)" in result.stdout
    check_side_by_side(result, out, 1)
    for name in MODELS:  # the shipped step, not a training run
        assert not (out / name / "run" / "log.jsonl").exists()


def test_the_demo_page_in_a_real_browser(shipped_demo):
    """Headless Chromium opens the page from file://: no console error (a missing picture or WAV would be one),
    every player's duration is its WAV's, and "play together" starts the song's tracks but not its mix."""
    _, out = shipped_demo
    with headless_chromium() as browser:
        browser.get((out / "index.html").as_uri())
        players = browser.execute_async_script(AUDIO_DURATIONS)
        browser.find_element("css selector", ".song button").click()
        playing = browser.execute_script(
            "return Array.from(document.querySelector('.song').querySelectorAll('audio'))"
            ".map(a => [a.getAttribute('src'), !a.paused]);")
        errors = [entry["message"] for entry in browser.get_log("browser") if entry["level"] == "SEVERE"]
    assert errors == []
    assert len(players) == len(read_page(out).audio) >= 2 * 5
    for source, duration, error in players:
        assert error is None, source
        assert duration == pytest.approx(soundfile.info(out / unquote(source)).duration, abs=1e-3), source
    assert playing and all(on != source.endswith("/mix.wav") for source, on in playing), playing


@pytest.mark.parametrize("damage", ["missing", "truncated"])
def test_bad_shipped_weights_are_exit_2_naming_the_file_and_train(cli, repo, tmp_path, damage):
    recipes = tmp_path / "recipes"
    shutil.copytree(repo / "recipes", recipes)
    weights = recipes / WEIGHTS_FOLDER / f"{MODELS[1]}.safetensors"
    if damage == "missing":
        weights.unlink()
    else:
        weights.write_bytes(weights.read_bytes()[:5000])
    result = cli("demo", "--out", str(tmp_path / "out"), cwd=tmp_path)
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr[-3000:]
    assert f"{MODELS[1]}.safetensors" in result.stderr and "--train" in result.stderr
    assert damage in result.stderr


def test_demo_bad_tracks_are_exit_2(cli, tmp_path):
    result = cli("demo", "--tracks", "drums,kazoo", "--out", str(tmp_path / "d"))
    assert result.returncode == 2 and "kazoo" in result.stderr and "Traceback" not in result.stderr


def test_mixer_guidance_adds_a_column_of_synctracks_weights_sampled_guided(shipped_demo):
    """--mixer-guidance 2: a third column between SyncTrack and no mixers, from SyncTrack's shipped weights (a
    hard-linked copy, nothing trained), sampled guided from the same noise, so its songs differ from SyncTrack's.
    (Guidance 1 is the plain denoiser, exactly: tests/plugins/samplers/test_mixer_guidance.py.)"""
    result, out = shipped_demo
    guided = "bench-mixer-guidance-2"
    assert guided in result.stdout and result.stdout.count("intervals ") == 4  # CBS and CBD, each mixer arm vs none
    synctrack_run, guided_run = out / MODELS[0] / "run", out / guided / "run"
    assert not (guided_run / "log.jsonl").exists()
    [weights] = [p for p in guided_run.rglob("*") if p.is_file() and p.suffix == ".safetensors"]
    assert weights.read_bytes() == (synctrack_run / weights.relative_to(guided_run)).read_bytes()
    song = Path("samples") / "song_000" / "drums.wav"
    assert not np.array_equal(soundfile.read(out / guided / song)[0], soundfile.read(out / MODELS[0] / song)[0])
    assert re.search(r'mixer_guidance\\": 2(\.0)?\}', (out / guided / "samples" / "sampling.json").read_text())
    assert f"{guided}/samples/song_000/beats.png" in read_page(out).images


def test_mixer_guidance_refuses_a_guided_recipe_that_trains_differently(cli, repo, tmp_path):
    recipes = tmp_path / "recipes"
    shutil.copytree(repo / "recipes", recipes)
    guided = recipes / "bench" / "mixer-guidance.yaml"
    guided.write_text(guided.read_text() + "train: {ema_decay: 0.9}\n")
    result = cli("demo", "--mixer-guidance", "2", "--out", str(tmp_path / "out"), cwd=tmp_path)
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr[-3000:]
    assert "mixer-guidance.yaml no longer trains exactly as" in result.stderr and "without --mixer-guidance" in result.stderr
