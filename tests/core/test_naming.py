"""Message helpers: the first difference of two nested settings, in one short line."""

from __future__ import annotations

from synctrack.naming import first_difference


def test_the_first_difference_is_named_by_its_path_and_a_named_pair_by_its_name():
    chain = [["bass", {"inst_class": ["Bass"], "program_num": [32, 33]}], ["guitar", {"inst_class": ["Guitar"]}]]
    other = [["bass", {"inst_class": ["Bass"], "program_num": [32, 34]}], ["guitar", {"inst_class": ["Guitar"]}]]
    assert first_difference(chain, other) == "bass.program_num[1]: prepared 33, recipe 34"
    assert first_difference(chain, chain) is None


def test_absent_keys_and_items_and_scalars():
    assert first_difference({"a": 1}, {"a": 1, "b": 2}) == "b: prepared (absent), recipe 2"
    assert first_difference([1, 2], [1], "folder has", "asked") == "[1]: folder has 2, asked (absent)"
    assert first_difference(16000, 8000, "folder has", "asked") == "folder has 16000, asked 8000"


def test_long_values_are_cut_to_one_line():
    message = first_difference({"x": list(range(500))}, {"x": "short"})
    assert len(message) < 160 and message.startswith("x: prepared [0, 1, 2") and "..." in message
