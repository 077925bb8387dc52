"""Recipe checking: every problem is found, reported with its path and line, and nothing is built."""

from __future__ import annotations

import functools

import pytest

from synctrack import RecipeError, load_recipe
from synctrack.recipe import PartSpec

GOOD = """\
name: toy
model:
  denoiser:
    type: toy_unet
    channels: 16
    mixers:
      - global_cross_track
      - {type: time_cross_track, heads: 4}
    conditioner: {type: instrument_prior, vocabulary: [bass, drums]}
"""


def problems_of(write, text, overrides=()):
    return [str(p) for p in load_recipe(write("r.yaml", text), overrides).problems()]


def test_valid_recipe_builds_the_parts_it_names(toy_registry, write):
    """Bare names and nodes both build; mixers arrive as specs the host builds with its own dim."""
    text = GOOD.replace("- global_cross_track", "- {type: global_cross_track, heads: 2}")
    recipe = load_recipe(write("r.yaml", text))
    assert recipe.problems() == []
    denoiser = recipe.build("model.denoiser")
    assert denoiser.channels == 16
    assert [(m.dim, m.heads) for m in denoiser.mixers] == [(16, 2), (16, 4)]
    assert denoiser.conditioner.vocabulary == ["bass", "drums"]


def test_missing_required_argument_of_a_nested_node(toy_registry, write):
    problems = problems_of(write, GOOD)
    assert problems == [
        "model.denoiser.mixers[0]: missing required argument 'heads' (int) for mixer 'global_cross_track' (r.yaml:7)"
    ]


def test_unknown_type_names_the_closest_registered_part(toy_registry, write):
    text = GOOD.replace("global_cross_track", "globl_cross_track")
    (problem,) = problems_of(write, text)
    assert problem.startswith("model.denoiser.mixers[0].type: 'globl_cross_track' is not in the mixer registry")
    assert "did you mean 'global_cross_track'?" in problem
    assert "registered: global_cross_track, none, time_cross_track" in problem
    assert problem.endswith("(r.yaml:7)")


def test_unknown_argument_is_named_with_a_suggestion(toy_registry, write):
    text = GOOD.replace("heads: 4", "heads: 4, head: 2").replace("- global_cross_track", "- {type: global_cross_track, heads: 1}")
    (problem,) = problems_of(write, text)
    assert problem.startswith("model.denoiser.mixers[1].head: unknown argument 'head' for mixer 'time_cross_track'")
    assert "did you mean 'heads'?" in problem and "accepted: heads, zero_init" in problem


def test_wrong_type_reads_like_the_design_example(toy_registry, write):
    text = GOOD.replace("heads: 4", "heads: eight").replace("- global_cross_track", "- {type: global_cross_track, heads: 1}")
    assert problems_of(write, text) == ["model.denoiser.mixers[1].heads: expected int, got 'eight' (r.yaml:8)"]


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        ("model.denoiser.dropout=yes", "model.denoiser.dropout: expected float, got True"),
        ("model.denoiser.channels=1.5", "model.denoiser.channels: expected int, got 1.5"),
        ("model.denoiser.channels=true", "model.denoiser.channels: expected int, got True"),
        ("model.denoiser.embedding_join=sum", "model.denoiser.embedding_join: expected one of 'concat', 'add', got 'sum'"),
        ("model.denoiser.levels=[1, x]", "model.denoiser.levels[1]: expected int, got 'x'"),
        ("model.denoiser.conditioner.vocabulary=bass", "model.denoiser.conditioner.vocabulary: expected list[str] (a YAML list), got 'bass'"),
        ("model.denoiser.mixers=global_cross_track", "model.denoiser.mixers: expected list[mixer node] (a YAML list), got 'global_cross_track'"),
        ("model.denoiser.conditioner=[1]", "model.denoiser.conditioner: expected a conditioner node, got [1]"),
        ("model.denoiser.mixers[0].heads=8", None),
        ("model.denoiser.dropout=1", None),
    ],
)
def test_annotation_checks(toy_registry, write, override, expected):
    problems = problems_of(write, GOOD, [override])
    problems = [p for p in problems if "mixers[0]: missing required argument 'heads'" not in p]
    if expected is None:
        assert problems == []
    else:
        assert len(problems) == 1 and problems[0].startswith(expected), problems


def test_host_supplied_argument_is_refused_in_the_recipe(toy_registry, write):
    (problem,) = problems_of(write, GOOD, ["model.denoiser.mixers[0].heads=1", "model.denoiser.mixers[1].dim=3"])
    assert problem.startswith("model.denoiser.mixers[1].dim: 'dim' is set by the host that builds this mixer")


def test_unknown_section_and_node_without_type(toy_registry, write):
    text = "modle: {}\nmodel:\n  denoiser: {channels: 3}\n"
    problems = problems_of(write, text)
    assert problems[0].startswith("modle: unknown argument 'modle'") and "did you mean 'model'?" in problems[0]
    assert problems[1].startswith("model.denoiser: missing 'type'; a denoiser node is NAME or {type: NAME")
    assert "registered: toy_unet" in problems[1]


def test_several_errors_in_one_file_are_all_reported_at_once(toy_registry, write):
    text = """\
name: 3
model:
  denoiser:
    type: toy_unet
    mixers: [globl, {type: time_cross_track, heads: eight}]
    conditioner: {type: instrument_prior, vocab: [bass]}
    dropuot: 0.1
"""
    with pytest.raises(RecipeError) as caught:
        load_recipe(write("r.yaml", text)).validate()
    message = str(caught.value)
    assert message.startswith("r.yaml: 7 problems:") or "problems:" in message.splitlines()[0]
    paths = [p.path for p in caught.value.problems]
    assert paths == [
        "name",
        "model.denoiser.mixers[0].type",
        "model.denoiser.mixers[1].heads",
        "model.denoiser.conditioner.vocab",
        "model.denoiser.conditioner",
        "model.denoiser.dropuot",
        "model.denoiser",
    ]
    assert "missing required argument 'channels'" in str(caught.value.problems[-1])


def test_a_structural_override_error_does_not_hide_the_other_problems(toy_registry, write):
    """mixers[9]=x cannot be applied; a bad value and a misspelt key on the same command line are still
    reported, in one error, overrides first."""
    text = GOOD.replace("- global_cross_track", "- {type: global_cross_track, heads: 2}")  # valid without overrides
    overrides = ["model.denoiser.mixers[9]=x", "train.steps=abc", "model.denoiser.chanels=8"]
    with pytest.raises(RecipeError) as caught:
        load_recipe(write("r.yaml", text), overrides).validate()
    problems = [str(p) for p in caught.value.problems]
    assert len(problems) == 3, problems
    assert problems[0].startswith("model.denoiser.mixers[9]: index 9 is out of range")
    assert problems[1].startswith("model.denoiser.chanels: unknown argument 'chanels'") and "did you mean 'channels'?" in problems[1]
    assert problems[2].startswith("train.steps: expected int, got 'abc'")
    assert all("(override '" in problem for problem in problems)


def test_nothing_is_built_when_any_problem_exists(toy_registry, write, monkeypatch):
    """Checking comes first: a problem anywhere means no factory runs, not even for valid siblings."""
    calls = []
    factory = toy_registry.get("denoiser", "toy_unet").factory
    original = factory.__init__

    @functools.wraps(original)
    def counting_init(self, *args, **kwargs):
        calls.append(kwargs)
        original(self, *args, **kwargs)

    monkeypatch.setattr(factory, "__init__", counting_init)
    recipe = load_recipe(write("r.yaml", GOOD.replace("vocabulary: [bass, drums]", "vocabulary: bass")))
    with pytest.raises(RecipeError):
        recipe.build("model.denoiser")
    assert calls == []


def test_deferred_nodes_build_specs(toy_registry):
    from synctrack.interfaces import Mixer
    from synctrack.recipe import build

    spec = build({"type": "time_cross_track", "heads": 3}, PartSpec[Mixer], toy_registry)
    assert isinstance(spec, PartSpec) and spec.name == "time_cross_track" and dict(spec.args) == {"heads": 3}
    assert spec(dim=8).dim == 8
