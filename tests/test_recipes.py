"""The repository's recipes: all valid, the tiny one builds and runs, docs/models.md counts are true."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import torch

from synctrack import TrackInfo, load_recipe
from synctrack.parameters import parameter_breakdown

REPO = Path(__file__).resolve().parents[1]
RECIPES = sorted(REPO.glob("recipes/**/*.yaml"))


@pytest.mark.parametrize("path", RECIPES, ids=[str(p.relative_to(REPO)) for p in RECIPES])
def test_recipe_is_valid(path):
    assert load_recipe(path).problems() == []


def test_variants_extend_a_base_instead_of_copying_it():
    for path in RECIPES:
        if path.name != "synctrack.yaml" and path.parent.name in ("ablations", "scaling"):
            assert "base:" in path.read_text(), f"{path} should extend a base recipe"


def model_rows():
    text = (REPO / "docs" / "models.md").read_text()
    pattern = re.compile(r"^\| (recipes/\S+\.yaml) \| ([\d,]+) \| ([\d,]+) \| ([\d,]+) \| ([\d,]+) \|$", re.M)
    return [(m[1], *(int(g.replace(",", "")) for g in m.groups()[1:])) for m in pattern.finditer(text)]


def test_docs_model_table_matches_the_recipes():
    rows = model_rows()
    assert {"recipes/synctrack.yaml", "recipes/tiny.yaml"} <= {row[0] for row in rows}
    for path, unet, mixers, prior, total in rows:
        with torch.device("meta"):
            denoiser = load_recipe(REPO / path).build("model.denoiser")
        counts = parameter_breakdown(denoiser, name="unet")
        assert (counts["unet"], counts["mixers"], counts["conditioner"], counts["total"]) == (unet, mixers, prior, total), path


def test_paper_size_heads_are_8_12_20():
    with torch.device("meta"):
        denoiser = load_recipe(REPO / "recipes/synctrack.yaml").build("model.denoiser")
    heads = {m.attn1.heads for m in denoiser.modules() if hasattr(m, "attn1")}
    assert heads == {8, 12, 20}


def test_tiny_recipe_runs_four_tracks():
    denoiser = load_recipe(REPO / "recipes/tiny.yaml").build("model.denoiser")
    x = torch.randn(2, 4, 4, 16, 8)
    out = denoiser(x, torch.tensor([1.0, 900.0]), TrackInfo.full([0, 1, 2, 3], batch_size=2))
    assert out.shape == x.shape


def test_params_flag_prints_the_split(cli):
    result = cli("recipe", "show", "recipes/synctrack.yaml", "--params")
    assert result.returncode == 0, result.stderr
    assert re.search(r"denoiser\s*│\s*mixers\s*│\s*28,222,720", result.stdout)
    assert re.search(r"denoiser\s*│\s*total\s*│\s*213,326,472", result.stdout)
