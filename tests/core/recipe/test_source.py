"""Reading recipe files: YAML errors with lines, base inheritance and its merge rules, hashing."""

from __future__ import annotations

import pytest

from synctrack import RecipeError, load_recipe
from synctrack.recipe.source import merge, parse_yaml


def error_of(path, overrides=()):
    with pytest.raises(RecipeError) as caught:
        load_recipe(path, overrides)
    return str(caught.value)


def test_bad_yaml_reports_file_line_and_column(write):
    path = write("bad.yaml", "name: x\nmodel:\n  denoiser: {type: a\n  other: 1\n")
    message = error_of(path)
    assert message.startswith("bad.yaml:4:"), message
    assert "bad YAML" in message


def test_tab_indentation_is_bad_yaml_with_its_line(write):
    message = error_of(write("tabs.yaml", "model:\n\tdenoiser: x\n"))
    assert message.startswith("tabs.yaml:2:1: bad YAML: found character '\\t'"), message


def test_duplicate_keys_are_reported_instead_of_silently_taking_the_last(write):
    message = error_of(write("dup.yaml", "name: a\nmodel: {}\nname: b\n"))
    assert message == "name: duplicate key (first set on line 1) (dup.yaml:3)"


def test_a_recipe_must_be_a_mapping(write):
    assert "a recipe is a mapping" in error_of(write("list.yaml", "- a\n- b\n"))


@pytest.mark.parametrize("text", ["", "# only a comment\n", "{}\n"])
def test_an_empty_recipe_is_an_error_not_a_valid_recipe(write, text):
    assert error_of(write("empty.yaml", text)).startswith("empty.yaml: the recipe is empty (no keys, or only comments)")


def test_missing_file_and_folder(write, tmp_path):
    assert error_of(tmp_path / "nope.yaml") == "recipe file not found: nope.yaml"
    (tmp_path / "dir.yaml").mkdir()
    assert "is a folder" in error_of(tmp_path / "dir.yaml")


def test_base_is_deep_merged_and_lines_follow_the_winning_file(write):
    write("base.yaml", "name: base\nmodel:\n  denoiser:\n    type: toy\n    channels: 8\n    dropout: 0.1\n")
    child = write("sub/child.yaml", "base: ../base.yaml\nname: child\nmodel:\n  denoiser:\n    channels: 16\n")
    recipe = load_recipe(child)
    assert recipe.data == {"name": "child", "model": {"denoiser": {"type": "toy", "channels": 16, "dropout": 0.1}}}
    assert recipe.locations[("model", "denoiser", "channels")] == "sub/child.yaml:5"
    assert recipe.locations[("model", "denoiser", "dropout")] == "base.yaml:6"
    assert [p.name for p in recipe.files] == ["base.yaml", "child.yaml"]


def test_bases_chain_and_a_changed_type_replaces_the_node(write):
    write("a.yaml", "model:\n  denoiser: {type: big, channels: 8, heads: 4}\n  sampler: ddim\n")
    write("b.yaml", "base: a.yaml\nmodel:\n  sampler: {type: ddim, steps: 10}\n")
    c = write("c.yaml", "base: b.yaml\nmodel:\n  denoiser: {type: small, width: 2}\n")
    assert load_recipe(c).data == {
        "model": {"denoiser": {"type": "small", "width": 2}, "sampler": {"type": "ddim", "steps": 10}}
    }


def test_replace_marker_and_lists_replace(write):
    write("a.yaml", "model:\n  denoiser: {type: t, channels: 8, levels: [1, 2, 3]}\n")
    b = write("b.yaml", "base: a.yaml\nmodel:\n  denoiser: {_replace_: true, type: t, levels: [4]}\n")
    assert load_recipe(b).data == {"model": {"denoiser": {"type": "t", "levels": [4]}}}


def test_base_cycle_names_every_file(write):
    write("a.yaml", "base: b.yaml\n")
    write("b.yaml", "base: c.yaml\n")
    write("c.yaml", "base: a.yaml\n")
    assert error_of("a.yaml") == "base: base cycle: a.yaml -> b.yaml -> c.yaml -> a.yaml; remove one of these base: keys"


def test_self_base_is_a_cycle(write):
    assert "base cycle: me.yaml -> me.yaml" in error_of(write("me.yaml", "base: me.yaml\n"))


def test_missing_base_names_the_path_it_looked_for(write):
    message = error_of(write("sub/x.yaml", "base: nothere.yaml\n"))
    assert message == "base: base file 'nothere.yaml' not found (looked for sub/nothere.yaml) (sub/x.yaml)"


def test_hash_ignores_key_order_and_formatting_but_not_values(write):
    one = load_recipe(write("one.yaml", "name: a\nmodel: {denoiser: {type: t, channels: 8}}\n"))
    two = load_recipe(write("two.yaml", "model:\n  denoiser:\n    channels: 8\n    type: t\nname: a   # same\n"))
    three = load_recipe(write("three.yaml", "name: a\nmodel: {denoiser: {type: t, channels: 9}}\n"))
    assert one.content_hash == two.content_hash != three.content_hash


def test_dump_round_trips(write):
    recipe = load_recipe(write("r.yaml", "name: a\nmodel:\n  denoiser: {type: t, levels: [1, 2], rate: 1.0e-4}\n"))
    data, _ = parse_yaml(recipe.dump(), "dump")
    assert data == recipe.data


def test_merge_function_keeps_base_untouched():
    base = {"a": {"b": 1, "c": [1]}}
    merged, _ = merge(base, {}, {"a": {"b": 2}}, {})
    assert merged == {"a": {"b": 2, "c": [1]}} and base == {"a": {"b": 1, "c": [1]}}


def test_exponent_floats_without_a_dot_are_numbers(write):
    """PyYAML (YAML 1.1) reads `1e-3` as a string; recipes use YAML 1.2 floats, so a learning rate is a number."""
    data = load_recipe(write("f.yaml", "a: 1e-3\nb: 3E5\nc: -2.5e+2\nd: 7\ne: e5\nf: 1e\n")).data
    assert data == {"a": 0.001, "b": 300000.0, "c": -250.0, "d": 7, "e": "e5", "f": "1e"}
    assert isinstance(data["d"], int)
