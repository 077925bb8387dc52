"""The command line: listings, recipe show/validate, and user errors as exit code 2 without a traceback."""

from __future__ import annotations

import pytest

from synctrack.cli import main

GOOD = """\
name: toy
model:
  denoiser:
    type: toy_unet
    channels: 16
    mixers: [{type: global_cross_track, heads: 2}]
"""

# Each recipe error of the foundation issue, as (file name, text, extra arguments, a fragment of the message).
BAD_RECIPES = [
    ("unknown-type.yaml", GOOD.replace("global_cross_track", "globl_cross_track"), (),
     "'globl_cross_track' is not in the mixer registry; did you mean 'global_cross_track'?"),
    ("unknown-arg.yaml", GOOD.replace("heads: 2", "heads: 2, haeds: 3"), (), "unknown argument 'haeds'"),
    ("missing-arg.yaml", GOOD.replace(", heads: 2", ""), (), "missing required argument 'heads' (int)"),
    ("wrong-type.yaml", GOOD.replace("heads: 2", "heads: eight"), (),
     "model.denoiser.mixers[0].heads: expected int, got 'eight' (wrong-type.yaml:6)"),
    ("bad-yaml.yaml", GOOD.replace("heads: 2}]", "heads: 2]"), (), "bad-yaml.yaml:6:"),
    ("cycle.yaml", "base: cycle.yaml\n", (), "base cycle: cycle.yaml -> cycle.yaml"),
    ("missing-base.yaml", "base: gone.yaml\n", (), "base file 'gone.yaml' not found"),
    ("override.yaml", GOOD, ("model.denoiser.channels",), "KEY=VALUE or ~KEY"),
    ("several.yaml", GOOD.replace("heads: 2", "heads: x, zero_init: 3").replace("channels: 16", "chanels: 16"), (),
     "4 problems:"),
]


def run(capsys, *argv):
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.mark.parametrize(("name", "text", "extra", "fragment"), BAD_RECIPES, ids=[b[0] for b in BAD_RECIPES])
@pytest.mark.parametrize("action", ["validate", "show"])
def test_recipe_errors_exit_2_with_one_clear_message(toy_registry, write, capsys, name, text, extra, fragment, action):
    write(name, text)
    code, out, err = run(capsys, "recipe", action, name, *extra)
    if action == "show" and name not in ("bad-yaml.yaml", "cycle.yaml", "missing-base.yaml", "override.yaml"):
        assert "# content hash:" in out  # the resolved recipe is printed before its problems
    assert code == 2
    assert fragment in err
    assert "Traceback" not in out + err


def test_several_problems_are_all_listed(toy_registry, write, capsys):
    write("several.yaml", BAD_RECIPES[-1][1])
    code, _, err = run(capsys, "recipe", "validate", "several.yaml")
    assert code == 2
    for fragment in ("expected int, got 'x'", "expected bool, got 3", "unknown argument 'chanels'",
                     "missing required argument 'channels'"):
        assert fragment in err


def test_validate_several_files_reports_each(toy_registry, write, capsys):
    write("good.yaml", GOOD)
    write("bad.yaml", GOOD.replace("heads: 2", "heads: eight"))
    code, out, err = run(capsys, "recipe", "validate", "good.yaml", "bad.yaml", "model.denoiser.channels=8")
    assert code == 2
    assert "ok good.yaml" in out and "bad.yaml" in err and "good.yaml" not in err


def test_validate_ok_exits_0_and_show_prints_resolved_yaml(toy_registry, write, capsys):
    write("base.yaml", GOOD)
    write("child.yaml", "base: base.yaml\nmodel: {denoiser: {channels: 4}}\n")
    assert run(capsys, "recipe", "validate", "child.yaml")[0] == 0
    code, out, _ = run(capsys, "recipe", "show", "child.yaml", "model.denoiser.mixers[0].heads=3")
    assert code == 0
    assert "channels: 4" in out and "heads: 3" in out and "base:" not in out.split("\n", 3)[-1]
    assert "# override: model.denoiser.mixers[0].heads=3" in out


def test_list_shows_kind_name_summary_and_plugin(toy_registry, capsys):
    code, out, _ = run(capsys, "list", "mixer")
    assert code == 0
    assert "global_cross_track" in out and "toys" in out and "none" in out
    assert "toy_unet" not in out


def test_list_unknown_kind_is_exit_2_with_suggestion(capsys):
    code, _, err = run(capsys, "list", "mixr")
    assert code == 2 and "did you mean 'mixer'?" in err


def test_bad_arguments_exit_2(capsys):
    with pytest.raises(SystemExit) as caught:
        main(["recipe"])
    assert caught.value.code == 2


def test_subprocess_errors_have_no_traceback(cli, tmp_path):
    """The installed entry point, in a fresh process: user errors end with code 2 and one message."""
    (tmp_path / "bad.yaml").write_text("model: [\n")
    (tmp_path / "unknown.yaml").write_text("model:\n  denoiser: nothing_like_this\n")
    for args in (["recipe", "validate", "bad.yaml"], ["recipe", "validate", "unknown.yaml"],
                 ["recipe", "show", "missing.yaml"], ["list", "nokind"], ["recipe", "show", "bad.yaml", "oops"]):
        result = cli(*args, cwd=tmp_path)
        assert result.returncode == 2, (args, result.stderr)
        assert "Traceback" not in result.stdout + result.stderr
        assert "error:" in result.stderr
