"""`synctrack list` reads well at 80 columns and in a pipe: one line per part, or two, no broken words."""

from __future__ import annotations

from synctrack import get_registry
from synctrack.cli.list_parts import first_sentence, plugin_label


def test_eighty_columns_and_a_pipe_give_one_or_two_lines_per_part(cli):
    parts = len(list(get_registry().parts()))
    for env in ({"COLUMNS": "80"}, {}):  # a pipe: rich falls back to 80 columns
        result = cli("list", env=env)
        assert result.returncode == 0, result.stderr
        rows = [line for line in result.stdout.splitlines() if line.strip()]
        assert len(rows) <= 2 * parts + 4, f"{len(rows)} lines for {parts} parts"
        assert all(len(line) <= 80 for line in rows)
        assert "unet2d" in result.stdout and "SyncTrack's U-Net" in result.stdout
        assert "plugin" not in rows[1]  # every part is built in: no plugin column when narrow


def test_wide_terminals_keep_the_full_summary_and_the_plugin_column(cli):
    result = cli("list", "mixer", env={"COLUMNS": "200"})
    assert result.returncode == 0 and "plugin" in result.stdout and "built-in" in result.stdout


def test_first_sentence_and_plugin_label():
    assert first_sentence("Identity on the normalised log-mel: latents are the mel. More.") == "Identity on the normalised log-mel"
    assert first_sentence("One sentence only") == "One sentence only"
    assert plugin_label("synctrack.plugins.mixers") == "built-in" and plugin_label("my_mixers") == "my_mixers"


def test_square_brackets_in_a_summary_are_shown_not_read_as_markup(cli):
    result = cli("list", "attention_backend", env={"COLUMNS": "200"})
    assert result.returncode == 0 and "synctrack[xformers]" in result.stdout
