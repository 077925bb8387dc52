"""The registry: lookups with suggestions, summaries, and refusal of duplicates."""

from __future__ import annotations

import pytest

from synctrack.errors import DuplicatePartError, UnknownPartError
from synctrack.registry import KINDS, Registry


def make(*names):
    registry = Registry()
    for name in names:
        registry.add("mixer", name, lambda dim: None, summary=f"{name} summary", plugin="p")
    return registry


def test_kinds_are_the_design_table():
    assert KINDS == (
        "encoder", "denoiser", "mixer", "conditioner", "vocoder",
        "diffusion", "sampler", "dataset", "beat_tracker", "embedder", "metric", "attention_backend",
    )


def test_unknown_name_lists_registered_names_and_the_closest():
    registry = make("global_cross_track", "time_cross_track", "none")
    with pytest.raises(UnknownPartError) as caught:
        registry.get("mixer", "global_crosstrack")
    assert str(caught.value) == (
        "'global_crosstrack' is not in the mixer registry; did you mean 'global_cross_track'? "
        "registered: global_cross_track, none, time_cross_track"
    )


def test_unknown_name_with_nothing_close():
    with pytest.raises(UnknownPartError, match=r"^'zzz' is not in the mixer registry; registered: a$"):
        make("a").get("mixer", "zzz")


def test_unknown_kind():
    with pytest.raises(UnknownPartError, match="did you mean 'sampler'"):
        make().names("samplr")


def test_unknown_part_error_is_not_a_bare_key_error():
    assert not issubclass(UnknownPartError, KeyError)


def test_duplicate_names_both_plugins():
    registry = make("x")
    with pytest.raises(DuplicatePartError, match="by plugin 'p' and by plugin 'q'"):
        registry.add("mixer", "x", lambda: None, plugin="q")


def test_summary_defaults_to_the_first_docstring_line():
    def factory(dim: int):
        """First line.

        More text.
        """

    registry = Registry()
    assert registry.add("mixer", "f", factory).summary == "First line."
