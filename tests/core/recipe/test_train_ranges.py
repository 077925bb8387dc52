"""`recipe validate` refuses every train: value the trainer refuses, from one set of ranges, with key paths."""

from __future__ import annotations

import pytest

from synctrack.errors import RecipeError, UserError
from synctrack.recipe import load_recipe
from synctrack.training.config import TrainSection
from synctrack.training.trainer import check_config

BAD = {
    "train.steps=0": "train.steps",
    "train.batch_size=-1": "train.batch_size",
    "train.ema_decay=1.5": "train.ema_decay",
    "train.optimizer.lr=-1": "train.optimizer.lr",
    "train.probe_every=0": "train.probe_every",
    "train.mixers_from_step=-1": "train.mixers_from_step",
    "train.min_lr_ratio=2": "train.min_lr_ratio",
    "train.optimizer.betas=[0.9,1.5]": "train.optimizer.betas",
}


@pytest.mark.parametrize("override", BAD)
def test_validate_and_the_trainer_refuse_the_same_value(repo, override):
    with pytest.raises(RecipeError) as caught:
        load_recipe(repo / "recipes/tiny.yaml", [override]).validate()
    problems = caught.value.problems
    assert [p.path for p in problems] == [BAD[override]] and problems[0].where == f"override {override!r}"
    key, value = override.split("=")
    section = TrainSection()
    target, *rest = key.split(".")[1:]
    if rest:  # optimizer.<field>
        import yaml

        setattr(section.optimizer, rest[0], tuple(yaml.safe_load(value)) if value.startswith("[") else float(value))
    else:
        setattr(section, target, type(getattr(section, target) or 0)(float(value)))
    with pytest.raises(UserError, match=BAD[override].replace(".", r"\.")):
        check_config(section, world_size=1)


def test_all_problems_of_a_file_come_together_with_their_lines(tmp_path):
    recipe = tmp_path / "r.yaml"
    recipe.write_text("name: r\ntrain:\n  steps: 0\n  batch_size: 0\n")
    with pytest.raises(RecipeError) as caught:
        load_recipe(recipe).validate()
    assert [(p.path, p.where) for p in caught.value.problems] == [("train.steps", f"{recipe}:3"), ("train.batch_size", f"{recipe}:4")]


def test_a_valid_recipe_has_no_train_problems(repo):
    for name in ("tiny.yaml", "bench/synctrack.yaml", "synctrack.yaml"):
        load_recipe(repo / "recipes" / name).validate()


@pytest.mark.parametrize(("tracks", "fragment"), [("[]", "is empty: give at least one track slot"),
                                                  ("[bass,drums,bass]", "must be unique, but bass appear")])
def test_validate_refuses_the_track_lists_every_dataset_refuses(repo, tracks, fragment):
    from synctrack.data.items import instrument_ids

    override = f"data.tracks={tracks}"
    with pytest.raises(RecipeError) as caught:
        load_recipe(repo / "recipes/tiny.yaml", [override]).validate()
    problems = caught.value.problems
    assert [p.path for p in problems] == ["data.tracks"] and fragment in problems[0].message
    with pytest.raises(UserError, match=fragment):  # the dataset's own check says the same
        instrument_ids([] if tracks == "[]" else ["bass", "drums", "bass"], None)
