"""Run the synctrack CLI with the engine's toy parts registered (used by subprocess tests and torchrun)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import engine_toys  # noqa: E402

engine_toys.install()

from synctrack.cli.main import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
