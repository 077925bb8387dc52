"""`synctrack demo` with a tiny step count: it trains, samples, evaluates, draws the beats and says where."""

from __future__ import annotations


def test_demo_runs_with_a_tiny_step_count(cli, tmp_path, tiny_overrides, tiny_env):
    out = tmp_path / "demo"
    result = cli("demo", "--steps", "2", "--songs", "2", "--out", str(out), *tiny_overrides, env={**tiny_env, "COLUMNS": "200"})
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    for fragment in ("demo results", "CBS", "held-out songs", "generated songs:", "beat pictures:"):
        assert fragment in result.stdout
    song = out / "demo" / "samples" / "song_000"
    assert {"bass.wav", "drums.wav", "guitar.wav", "piano.wav", "mix.wav", "mels.png", "beats.png"} <= {p.name for p in song.iterdir()}
    assert (out / "demo" / "eval.json").is_file()


def test_demo_tracks_option_changes_the_instruments(cli, tmp_path, tiny_overrides, tiny_env):
    out = tmp_path / "demo"
    result = cli("demo", "--steps", "1", "--songs", "1", "--tracks", "drums,bass,strings", "--out", str(out), *tiny_overrides, env=tiny_env)
    assert result.returncode == 0, result.stderr[-3000:]
    assert {p.name for p in (out / "demo" / "samples" / "song_000").glob("*.wav")} == {"drums.wav", "bass.wav", "strings.wav", "mix.wav"}


def test_demo_bad_tracks_are_exit_2(cli, tmp_path):
    result = cli("demo", "--tracks", "drums,kazoo", "--out", str(tmp_path / "d"))
    assert result.returncode == 2 and "kazoo" in result.stderr and "Traceback" not in result.stderr
