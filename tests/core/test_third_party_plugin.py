"""A third-party plugin package, taken verbatim from docs/writing-a-plugin.md, installed with pip.

A second package that raises on import is installed beside it: the first keeps working, the second is
named in the warning, and strict mode makes it fatal.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
FILE_BLOCK = re.compile(r"<!-- file: (?P<path>[^ ]+) -->\n```[a-z]*\n(?P<body>.*?)```", re.S)

BROKEN_PYPROJECT = """\
[build-system]
requires = ["setuptools>=68"]
build-backend = "setuptools.build_meta"

[project]
name = "synctrack-broken"
version = "0.1.0"

[project.entry-points.synctrack]
broken = "synctrack_broken"
"""


def doc_files() -> dict[str, str]:
    text = (REPO / "docs" / "writing-a-plugin.md").read_text()
    return {match["path"]: match["body"] for match in FILE_BLOCK.finditer(text)}


def pip_install_into(site: Path, package: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation", "--target", str(site), str(package)],
        check=True,
        capture_output=True,
    )


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """A folder with both packages installed by pip; put it on PYTHONPATH to use them."""
    root = tmp_path_factory.mktemp("plugins")
    for relative, body in doc_files().items():
        target = root / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(body)
    broken = root / "synctrack-broken"
    (broken / "synctrack_broken").mkdir(parents=True)
    (broken / "pyproject.toml").write_text(BROKEN_PYPROJECT)
    (broken / "synctrack_broken" / "__init__.py").write_text("raise ImportError('this plugin is broken on purpose')\n")
    site = root / "site"
    pip_install_into(site, root / "synctrack-trackmean")
    pip_install_into(site, broken)
    return site


def test_the_doc_gives_a_complete_package():
    files = doc_files()
    assert {"synctrack-trackmean/pyproject.toml", "synctrack-trackmean/src/synctrack_trackmean/__init__.py"} <= set(files)


@pytest.mark.synctrack_plugin_install
def test_installed_plugin_is_listed_and_the_broken_one_is_named(site, cli):
    result = cli("list", "mixer", env={"PYTHONPATH": str(site)})
    assert result.returncode == 0, result.stderr
    row = next(line for line in result.stdout.splitlines() if "track_mean" in line)
    assert "trackmean" in row.split("track_mean", 1)[1]
    assert "plugin 'broken' (synctrack-broken) failed to import" in result.stderr
    assert "this plugin is broken on purpose" in result.stderr
    assert result.stderr.count("failed to import") == 1  # once, not again under the table
    assert "pip uninstall synctrack-broken, or SYNCTRACK_DISABLE_PLUGINS=broken" in result.stderr


@pytest.mark.synctrack_plugin_install
def test_strict_mode_makes_the_broken_plugin_fatal(site, cli):
    result = cli("list", "mixer", env={"PYTHONPATH": str(site), "SYNCTRACK_STRICT_PLUGINS": "1"})
    assert result.returncode == 2
    assert "plugin 'broken' (synctrack-broken) failed to import" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.synctrack_plugin_install
def test_disabling_the_broken_plugin_silences_it(site, cli):
    result = cli("list", "mixer", env={"PYTHONPATH": str(site), "SYNCTRACK_DISABLE_PLUGINS": "broken"})
    assert result.returncode == 0 and "broken" not in result.stderr and "track_mean" in result.stdout


@pytest.mark.synctrack_plugin_install
def test_the_docs_recipe_validates_with_the_installed_mixer(site, cli, tmp_path):
    recipe = tmp_path / "trackmean.yaml"
    recipe.write_text(doc_files()["synctrack-trackmean/recipes/trackmean.yaml"])
    result = cli("recipe", "validate", str(recipe), env={"PYTHONPATH": str(site), "SYNCTRACK_DISABLE_PLUGINS": "broken"})
    assert result.returncode == 0, result.stderr
    without = cli("recipe", "validate", str(recipe), env={"SYNCTRACK_DISABLE_PLUGINS": "broken"})
    assert without.returncode == 2 and "'track_mean' is not in the mixer registry" in without.stderr


@pytest.mark.synctrack_plugin_install
def test_the_plugin_mixer_works_inside_the_unet_built_from_the_docs_recipe(site, tmp_path):
    """The mixer is built by unet2d from the recipe, and keeps the mixer contract inside the U-Net."""
    recipe = tmp_path / "trackmean.yaml"
    recipe.write_text(doc_files()["synctrack-trackmean/recipes/trackmean.yaml"])
    script = f"""
import torch, warnings
warnings.simplefilter("ignore")
from synctrack import TrackInfo, load_recipe
unet = load_recipe({str(recipe)!r}).build("model.denoiser").eval()
mixers = [m for m in unet.modules() if type(m).__name__ == "TrackMeanMixer"]
for p in unet.parameters():
    torch.nn.init.normal_(p, std=0.1)
x = torch.randn(2, 3, 8, 8, 4)
levels = torch.tensor([3.0, 700.0])
tracks = TrackInfo(torch.zeros(2, 3, dtype=torch.long), torch.tensor([[True, True, False], [True, True, True]]))
out = unet(x, levels, tracks)
masked = x.clone(); masked[0, 2] += 100.0
other = x.clone(); other[1] += 1.0
neighbour = x.clone(); neighbour[0, 1] += 1.0
with torch.no_grad():
    print(len(mixers), torch.equal(unet(masked, levels, tracks)[0], out[0]), torch.equal(unet(other, levels, tracks)[0], out[0]),
          not torch.allclose(unet(neighbour, levels, tracks)[0, 0], out[0, 0]))
"""
    result = subprocess.run(
        [sys.executable, "-c", script], env={"PYTHONPATH": str(site), "PATH": "/usr/bin"}, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["4", "True", "True", "True"]  # 1 down, 1 middle, 2 up blocks


@pytest.mark.synctrack_plugin_install
def test_the_docs_mixer_passes_synctrack_testing(site):
    """What docs/writing-a-plugin.md tells a plugin author to run: the mixer contract, with one import."""
    script = (REPO / "docs" / "writing-a-plugin.md").read_text().split("<!-- test: contract -->\n```python\n")[1].split("```")[0]
    script += "\ntest_track_mean_keeps_the_mixer_contract()\nprint('contract kept')\n"
    result = subprocess.run([sys.executable, "-c", script], env={"PYTHONPATH": str(site), "PATH": "/usr/bin"},
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith("contract kept")
