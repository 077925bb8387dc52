"""Command-line overrides: setting, deleting, list indices, bare-name promotion, and bad syntax."""

from __future__ import annotations

import pytest

from synctrack import RecipeError, load_recipe
from synctrack.recipe import parse_override

TEXT = """\
name: r
model:
  denoiser:
    type: toy_unet
    channels: 8
    mixers: [global_cross_track, {type: time_cross_track, heads: 2}]
"""


def test_values_are_parsed_as_yaml(write):
    recipe = load_recipe(write("r.yaml", TEXT), ["model.denoiser.channels=16", "name=[a, 1]", "model.new.key=0.5"])
    assert recipe.get("model.denoiser.channels") == 16
    assert recipe.get("name") == ["a", 1]
    assert recipe.get("model.new.key") == 0.5
    assert recipe.locations[("model", "denoiser", "channels")] == "override 'model.denoiser.channels=16'"


def test_list_elements_by_index_in_both_spellings(write):
    recipe = load_recipe(write("r.yaml", TEXT), ["model.denoiser.mixers[1].heads=4", "model.denoiser.mixers.0=none"])
    assert recipe.get("model.denoiser.mixers") == ["none", {"type": "time_cross_track", "heads": 4}]


def test_a_bare_part_name_gains_arguments(write):
    recipe = load_recipe(write("r.yaml", TEXT), ["model.denoiser.mixers[0].heads=3"])
    assert recipe.get("model.denoiser.mixers[0]") == {"type": "global_cross_track", "heads": 3}


def test_delete(write):
    recipe = load_recipe(write("r.yaml", TEXT), ["~model.denoiser.mixers", "~name"])
    assert recipe.data == {"model": {"denoiser": {"type": "toy_unet", "channels": 8}}}
    assert ("model", "denoiser", "mixers", 1, "heads") not in recipe.locations


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("model.denoiser.channels", "bad override 'model.denoiser.channels': expected KEY=VALUE"),
        ("=3", "bad override '=3'"),
        ("a..b=1", "bad override 'a..b=1': bad key segment ''"),
        ("a[x]=1", "bad override 'a[x]=1': bad key segment 'a[x]'"),
        ("~a=1", "a deletion takes no value"),
        ("[0]=1", "bad override '[0]=1'"),
        ("0.a=1", "a key must start with a name"),
        ("a=[1, 2", "bad override value '[1, 2'"),
    ],
)
def test_bad_override_syntax(text, fragment):
    with pytest.raises(RecipeError) as caught:
        parse_override(text)
    assert fragment in str(caught.value)


@pytest.mark.parametrize(
    ("override", "fragment"),
    [
        ("model.denoiser.mixers[5].heads=1", "index 5 is out of range: model.denoiser.mixers has 2 element(s)"),
        ("~model.nothing", "cannot delete: model has no key 'nothing'; keys: denoiser"),
        ("model.denoiser.mixers.heads=1", "model.denoiser.mixers is a list; address its elements by index"),
        ("model.denoiser.channels.x=1", "model.denoiser.channels is the value 8, so it has no key 'x'"),
    ],
)
def test_overrides_that_do_not_fit_the_recipe(write, override, fragment):
    recipe = load_recipe(write("r.yaml", TEXT), [override])  # skipped and kept: validate() reports it
    assert [p.where for p in recipe.override_problems] == [f"override {override!r}"]
    assert fragment in str(recipe.override_problems[0])
    with pytest.raises(RecipeError) as caught:
        recipe.validate()
    assert f"(override {override!r})" in str(caught.value) and fragment in str(caught.value)


def test_every_bad_override_is_reported(write):
    recipe = load_recipe(write("r.yaml", TEXT), ["~nothing", "a..b=1", "model.denoiser.mixers[9]=x"])
    problems = [str(problem) for problem in recipe.override_problems]
    assert len(problems) == 3 and "(override '~nothing')" in problems[0]  # in the command line's order
    assert "bad override 'a..b=1'" in problems[1] and "(override 'model.denoiser.mixers[9]=x')" in problems[2]


def test_override_values_take_exponent_floats(write):
    recipe = load_recipe(write("r.yaml", TEXT), ["model.denoiser.dropout=1e-3", "name=2e2"])
    assert recipe.get("model.denoiser.dropout") == 0.001 and recipe.get("name") == 200.0
