"""A recipe of nested YAML aliases (the "billion laughs") is refused before anything expands it."""

from __future__ import annotations

import pytest

from synctrack.cli import main
from synctrack.errors import RecipeError
from synctrack.recipe import load_recipe
from synctrack.recipe.source import MAX_EXPANDED_NODES, load_yaml_text

LEVELS = "abcdefgh"


def bomb_text(levels: int = 8) -> str:
    lines = ["name: bomb", "a: &a [x, x, x, x, x, x, x, x, x]"]
    for previous, name in zip(LEVELS, LEVELS[1:levels]):
        lines.append(f"{name}: &{name} [" + ", ".join([f"*{previous}"] * 9) + "]")
    last = LEVELS[levels - 1]
    lines.append("model:\n  denoiser: {type: unet2d, mixers: [" + ", ".join([f"*{last}"] * 9) + "]}")
    return "\n".join(lines) + "\n"


def test_the_bomb_is_refused_naming_where_it_passes_the_limit(tmp_path):
    path = tmp_path / "bomb.yaml"
    path.write_text(bomb_text())
    assert len(path.read_bytes()) < 1024
    with pytest.raises(RecipeError) as caught:
        load_recipe(path)
    problem = caught.value.problems[0]
    assert f"expands to more than {MAX_EXPANDED_NODES:,} values through YAML aliases" in problem.message
    assert problem.path == "g[0]" and problem.where.endswith("bomb.yaml")  # 9^6 values there, 9^5 one level down


def test_aliases_that_stay_small_still_load():
    assert load_yaml_text("a: &a [1, 2]\nb: [*a, *a]\n") == {"a": [1, 2], "b": [[1, 2], [1, 2]]}


def test_an_override_bomb_is_refused_too(repo):
    value = "[" + ", ".join(["&a [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]"] + ["*a"] * 9) + "]"
    assert load_yaml_text(value)  # small: fine
    text = bomb_text(7).split("\nmodel:")[0].replace("\n", ", ").replace("name: bomb, ", "{") + "}"
    with pytest.raises(RecipeError, match="expands to more than") as caught:
        load_recipe(repo / "recipes/tiny.yaml", [f"description={text}"]).validate()
    assert caught.value.problems[0].where.startswith("override 'description={a: &a")


@pytest.mark.parametrize("command", ["recipe validate", "train", "ablate"])
def test_every_command_exits_2_on_the_bomb(tmp_path, capsys, command):
    path = tmp_path / "bomb.yaml"
    path.write_text(bomb_text())
    argv = [*command.split(), str(path)] + (["--out", str(tmp_path / "out")] if command != "recipe validate" else [])
    assert main(argv) == 2
    assert "expands to more than" in capsys.readouterr().err
