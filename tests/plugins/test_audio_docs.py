"""docs/audio.md stays true: every YAML block on the page is a valid recipe for the registered parts."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from synctrack import get_registry
from synctrack.recipe import recipe_from_text

PAGE = Path(__file__).resolve().parents[2] / "docs" / "audio.md"
BLOCKS = re.findall(r"```yaml\n(.*?)```", PAGE.read_text(), flags=re.S)


def test_the_page_has_recipe_blocks():
    assert len(BLOCKS) >= 4


@pytest.mark.parametrize("index", range(len(BLOCKS)))
def test_every_yaml_block_validates(index):
    recipe = recipe_from_text(BLOCKS[index], name=f"docs/audio.md block {index}")
    assert recipe.problems(get_registry()) == []


def test_a_misspelled_mel_setting_would_be_caught():
    recipe = recipe_from_text("model:\n  encoder: {type: mel_vae, mel: {n_mel: 64}}\n  vocoder: {type: hifigan, training: {period: [2]}}\n")
    problems = [str(problem) for problem in recipe.problems(get_registry())]
    assert any("model.encoder.mel.n_mel" in p and "n_mels" in p for p in problems), problems
    assert any("model.vocoder.training.period" in p for p in problems), problems
