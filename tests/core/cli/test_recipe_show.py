"""What `synctrack recipe show` prints always loads back as the same recipe, at any terminal width."""

from __future__ import annotations

import pytest

from synctrack.recipe import load_recipe


@pytest.mark.parametrize("columns", ["40", "80", "200"])
@pytest.mark.parametrize("name", ["bench/synctrack.yaml", "synctrack.yaml", "msgld.yaml"])
def test_show_loads_back_at_any_width(cli, repo, tmp_path, columns, name):
    long_line = "description=" + "a description longer than any terminal line " * 4  # and a long path comment
    original = load_recipe(repo / "recipes" / name, [long_line])
    result = cli("recipe", "show", str(repo / "recipes" / name), long_line, env={"COLUMNS": columns})
    assert result.returncode == 0, result.stderr
    shown = tmp_path / "shown.yaml"
    shown.write_text(result.stdout)
    assert load_recipe(shown).content_hash == original.content_hash
    assert f"# content hash: {original.content_hash}" in result.stdout
