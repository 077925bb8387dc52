"""Folder readers for both layouts, and the beat cache keyed by file content and tracker settings."""

from __future__ import annotations

import numpy as np
import pytest

from synctrack.audio.io import save_audio, write_song
from synctrack.eval.cache import BeatCache, file_digest, settings_digest
from synctrack.eval.layout import LayoutError, read_folder

RATE = 8000


def tone(seconds=0.5, seed=0):
    return np.random.default_rng(seed).uniform(-0.1, 0.1, int(seconds * RATE)).astype(np.float32)


def test_song_folders_with_mix_excluded_from_tracks(tmp_path):
    write_song(tmp_path / "b", np.stack([tone(), tone(seed=1)]), ["bass", "drums"], RATE)
    write_song(tmp_path / "a", np.stack([tone(), tone(seed=2)]), ["bass", "piano"], RATE)
    (tmp_path / "synctrack-eval.json").write_text("{}")  # a report next to the songs is ignored
    folder = read_folder(tmp_path)
    assert folder.layout == "songs"
    assert [s.name for s in folder.songs] == ["a", "b"]
    assert folder.tracks == ["bass", "drums", "piano"]
    assert folder.songs[0].mix == tmp_path / "a" / "mix.wav"
    assert "mix" not in folder.songs[0].tracks
    assert folder.incomplete_songs() == ["a", "b"]
    assert len(folder.files) == 4


def test_official_stem_layout_with_mix_folder_and_track_names(tmp_path):
    for k in range(3):
        for song in ("s1", "s2"):
            save_audio(tmp_path / f"stem_{k}" / f"{song}.wav", tone(seed=k), RATE)
    save_audio(tmp_path / "mix" / "s1.wav", tone(), RATE)
    folder = read_folder(tmp_path)
    assert folder.layout == "stems"
    assert folder.tracks == ["stem_0", "stem_1", "stem_2"]
    assert folder.songs[0].tracks["stem_2"] == tmp_path / "stem_2" / "s1.wav"
    assert folder.songs[0].mix == tmp_path / "mix" / "s1.wav" and folder.songs[1].mix is None
    named = read_folder(tmp_path, ["bass", "drums", "piano"])
    assert named.tracks == ["bass", "drums", "piano"]
    assert named.songs[1].tracks["piano"] == tmp_path / "stem_2" / "s2.wav"


def test_stem_folders_sort_numerically(tmp_path):
    for k in (0, 1, 10, 2):
        save_audio(tmp_path / f"stem_{k}" / "s.wav", tone(), RATE)
    assert read_folder(tmp_path).tracks == ["stem_0", "stem_1", "stem_2", "stem_10"]


@pytest.mark.parametrize(
    ("make", "fragment"),
    [
        (lambda root: None, "no songs found"),
        (lambda root: save_audio(root / "loose.wav", tone(), RATE), "loose audio files"),
        (lambda root: [save_audio(root / "stem_0" / "a.wav", tone(), RATE), save_audio(root / "song" / "bass.wav", tone(), RATE)],
         "mixes the two layouts"),
        (lambda root: [save_audio(root / "s" / "bass.wav", tone(), RATE), save_audio(root / "s" / "bass.flac", tone(), RATE)],
         "keep one"),
    ],
    ids=["empty", "loose-files", "mixed-layouts", "duplicate-track"],
)
def test_bad_folders_are_explained(tmp_path, make, fragment):
    make(tmp_path)
    with pytest.raises(LayoutError, match=fragment) as caught:
        read_folder(tmp_path)
    assert str(tmp_path) in str(caught.value)


def test_missing_folder_and_bad_track_names(tmp_path):
    with pytest.raises(LayoutError, match="folder not found"):
        read_folder(tmp_path / "nope")
    save_audio(tmp_path / "stem_0" / "a.wav", tone(), RATE)
    save_audio(tmp_path / "stem_1" / "a.wav", tone(), RATE)
    with pytest.raises(LayoutError, match="need 2 distinct track names"):
        read_folder(tmp_path, ["bass"])


def test_cache_keys_on_content_not_name_and_on_settings(tmp_path):
    first = tmp_path / "a.wav"
    save_audio(first, tone(), RATE)
    copy = tmp_path / "copy.wav"
    copy.write_bytes(first.read_bytes())
    cache = BeatCache(tmp_path / "cache", {"tracker": "x", "hop": 1})
    beats = np.array([0.5, 1.0, 1.5])
    assert cache.get(file_digest(first)) is None
    cache.put(file_digest(first), beats)
    np.testing.assert_array_equal(cache.get(file_digest(copy)), beats)  # same bytes, other name: a hit
    assert (cache.hits, cache.misses) == (1, 1)
    assert BeatCache(tmp_path / "cache", {"hop": 1, "tracker": "x"}).get(file_digest(first)) is not None
    assert BeatCache(tmp_path / "cache", {"tracker": "x", "hop": 2}).get(file_digest(first)) is None
    save_audio(first, tone(seed=9), RATE)  # rewritten content: a miss
    assert cache.get(file_digest(first)) is None
    folder = tmp_path / "cache" / settings_digest({"tracker": "x", "hop": 1})
    assert (folder / "settings.json").exists()
    assert not [p for p in folder.iterdir() if p.name.startswith(".")]  # no temporary files left


def test_a_corrupt_cache_entry_is_a_miss(tmp_path):
    cache = BeatCache(tmp_path, {"tracker": "x"})
    cache.put("abc", np.array([1.0]))
    (cache.folder / "abc.npy").write_bytes(b"garbage")
    assert cache.get("abc") is None


def test_disabled_cache_never_hits(tmp_path):
    cache = BeatCache(None, {"tracker": "x"})
    cache.put("abc", np.array([1.0]))
    assert cache.get("abc") is None and not cache.enabled
