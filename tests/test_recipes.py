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


# The families table: | family | recipe | `denoiser` | U-Net | encoder | vocoder | total | rate | latent | tasks |
FAMILY_ROW = re.compile(r"^\| (SyncTrack|MSDM|MSG-LD) \|(.*)\|$", re.M)


def family_rows():
    text = (REPO / "docs" / "models.md").read_text()
    return {m[1]: [cell.strip() for cell in m[2].split("|")] for m in FAMILY_ROW.finditer(text)}


def count(recipe, section):
    """Parameters of ``model.<section>`` built on the meta device, or None when the recipe has no such part."""
    if recipe.get(f"model.{section}") is None:
        return None
    with torch.device("meta"):
        return parameter_breakdown(recipe.build(f"model.{section}"), name=section)["total"]


def number(cell):
    return None if cell == "-" else int(cell.replace(",", ""))


def test_docs_families_table_matches_the_recipes():
    rows = family_rows()
    assert set(rows) == {"SyncTrack", "MSDM", "MSG-LD"}
    for family, (path, denoiser, unet, encoder, vocoder, total, rate, latent, tasks) in rows.items():
        recipe = load_recipe(REPO / path)
        assert f"`{recipe.get('model.denoiser.type')}`" == denoiser, family
        counts = (count(recipe, "denoiser"), count(recipe, "encoder"), count(recipe, "vocoder"))
        expected = f"| {family} | {path} | {denoiser} | " + " | ".join("-" if c is None else f"{c:,}" for c in counts)
        assert (number(unet), number(encoder), number(vocoder)) == counts, f"docs/models.md should read: {expected} | ..."
        assert number(total) == sum(c or 0 for c in counts), family
        with torch.device("meta"):  # no memory, and no pretrained weights loaded
            encoder_part = recipe.build("model.encoder")
        clip = round(recipe.get("data.clip_seconds") * recipe.get("data.sample_rate"))
        assert rate == f"{encoder_part.sample_rate} Hz" == f"{recipe.get('data.sample_rate')} Hz", family
        assert latent == " x ".join(str(n) for n in encoder_part.latent_shape(clip)), family
        assert tasks, family


@pytest.mark.parametrize("family", ["MSDM", "MSG-LD"])
def test_params_flag_prints_the_baselines_counts(cli, family):
    path, _, unet, encoder, vocoder = family_rows()[family][:5]
    result = cli("recipe", "show", path, "--params")
    assert result.returncode == 0, result.stderr
    assert re.search(rf"denoiser\s*│\s*total\s*│\s*{unet}\b", result.stdout)
    assert re.search(rf"encoder\s*│\s*total\s*│\s*{encoder}\b", result.stdout)
    if vocoder != "-":
        assert re.search(rf"vocoder\s*│\s*total\s*│\s*{vocoder}\b", result.stdout)


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
