"""The numba cache location used for librosa's compiled beat tracker."""


def test_numba_cache_defaults_to_the_synctrack_cache_and_respects_a_set_value(monkeypatch, tmp_path):
    """Without NUMBA_CACHE_DIR, numba caches next to librosa in site-packages (read-only for many users, and
    where entries written by processes compiling at once were seen to segfault later runs)."""
    from synctrack.eval.cache import ensure_numba_cache_dir

    monkeypatch.delenv("NUMBA_CACHE_DIR", raising=False)
    monkeypatch.setenv("SYNCTRACK_CACHE", str(tmp_path))
    assert ensure_numba_cache_dir() == tmp_path / "numba"
    import os

    assert os.environ["NUMBA_CACHE_DIR"] == str(tmp_path / "numba")
    monkeypatch.setenv("NUMBA_CACHE_DIR", "/somewhere/else")
    assert str(ensure_numba_cache_dir()) == "/somewhere/else" and os.environ["NUMBA_CACHE_DIR"] == "/somewhere/else"
