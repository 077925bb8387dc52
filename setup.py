"""Package discovery for the two-folder layout.

``core/`` ships as the import package ``synctrack`` and ``plugins/`` as ``synctrack.plugins``. setuptools'
``find_packages`` cannot rename folders, so every package below those two roots is listed here; a test builds
the wheel and checks that it holds exactly the modules of the source tree.
"""

from pathlib import Path

from setuptools import setup

ROOTS = {"synctrack": "core", "synctrack.plugins": "plugins"}


def discover(package: str, folder: str) -> list[str]:
    """Every package (folder with ``__init__.py``) under ``folder``, named below ``package``."""
    root = Path(__file__).parent / folder
    found = []
    for init in sorted(root.rglob("__init__.py")):
        relative = init.parent.relative_to(root).parts
        if "__pycache__" in relative:
            continue
        found.append(".".join((package, *relative)))
    return found


setup(
    package_dir=ROOTS,
    packages=[name for package, folder in ROOTS.items() for name in discover(package, folder)],
    package_data={"synctrack": ["py.typed", "reports/*.j2"]},  # the listening page's template
)
