"""Packaging: the wheel ships every module, core never imports plugins, and the repository root does not
leak a second copy of the package as ``core``."""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
ROOTS = {"core": "synctrack", "plugins": "synctrack.plugins"}


def source_modules() -> set[str]:
    modules = set()
    for folder, package in ROOTS.items():
        for path in (REPO / folder).rglob("*.py"):
            relative = path.relative_to(REPO / folder).with_suffix("").parts
            if "__pycache__" in relative:
                continue
            modules.add(".".join((package, *relative)))
    return modules


def python_files(folder: str):
    return [p for p in (REPO / folder).rglob("*.py") if "__pycache__" not in p.parts]


def test_every_folder_is_a_package():
    for folder in ROOTS:
        for directory in [REPO / folder, *[p for p in (REPO / folder).rglob("*") if p.is_dir()]]:
            if directory.name == "__pycache__":
                continue
            assert (directory / "__init__.py").exists(), f"{directory.relative_to(REPO)} has no __init__.py"


@pytest.mark.synctrack_plugin_install
def test_wheel_holds_exactly_the_source_modules(tmp_path):
    source = tmp_path / "src"
    source.mkdir()
    for name in ("core", "plugins"):
        shutil.copytree(REPO / name, source / name, ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "setup.py", "README.md"):
        shutil.copy(REPO / name, source / name)
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(tmp_path / "dist"), str(source)],
        check=True,
        capture_output=True,
    )
    (wheel,) = (tmp_path / "dist").glob("synctrack-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        entry_points = next(archive.read(n).decode() for n in names if n.endswith("entry_points.txt"))
    shipped = {n[: -len(".py")].replace("/", ".").removesuffix(".__init__") for n in names if n.endswith(".py")}
    expected = {m.removesuffix(".__init__") for m in source_modules()}
    assert shipped == expected
    assert not any(n.startswith(("core/", "plugins/")) for n in names)
    assert "synctrack = synctrack.cli:main" in entry_points
    assert "synctrack/reports/index.html.j2" in names  # the listening page's template is package data


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module)
    return found


def test_core_never_imports_plugins():
    """The one rule of the house: arrows point from plugins to core, never back."""
    for path in python_files("core"):
        text = path.read_text()
        offenders = [m for m in imported_modules(path) if m == "synctrack.plugins" or m.startswith("synctrack.plugins.")]
        assert not offenders, f"{path.relative_to(REPO)} imports {offenders}"
        assert "from ..plugins" not in text and "from ...plugins" not in text


def test_nothing_imports_the_folders_by_their_source_names():
    for folder in ROOTS:
        for path in python_files(folder):
            bad = [m for m in imported_modules(path) if m.split(".")[0] in ROOTS]
            assert not bad, f"{path.relative_to(REPO)} imports {bad}: use synctrack / synctrack.plugins"


def test_running_from_the_repository_root_loads_one_copy():
    code = (
        "import sys, synctrack; synctrack.get_registry();"
        "import synctrack.plugins.mixers as m;"
        "print([n for n in sys.modules if n.split('.')[0] in ('core', 'plugins')]);"
        "print(synctrack.__file__); print(m.__file__)"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    leaked, core_file, plugin_file = result.stdout.strip().splitlines()
    assert leaked == "[]"
    assert Path(core_file).parent == REPO / "core"
    assert Path(plugin_file).parent == REPO / "plugins" / "mixers"


@pytest.mark.synctrack_plugin_install
def test_a_fresh_clone_installs_and_runs(tmp_path):
    """What is committed is enough: clone HEAD, install it (no deps: they are this venv's), run the CLI."""
    if not (REPO / ".git").exists() or shutil.which("git") is None:
        pytest.skip("not a git checkout")
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(REPO), str(clone)], check=True)
    site = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation", "--target", str(site), str(clone)],
        check=True,
        capture_output=True,
    )
    env = {**os.environ, "PYTHONPATH": str(site), "COLUMNS": "200"}  # wide: the plugin column is shown
    result = subprocess.run(
        [sys.executable, "-c", "import synctrack, sys; print(synctrack.__file__); from synctrack.cli import main; sys.exit(main(['list', 'mixer']))"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0].startswith(str(site))
    assert "global_cross_track" in result.stdout and "built-in" in result.stdout  # the installed built-in plugins
