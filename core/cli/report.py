"""``synctrack report DIR``: (re)write the listening page ``DIR/index.html`` of a folder of songs.

``synctrack sample`` and ``synctrack eval`` write the page themselves, ``ablate`` and ``demo`` theirs (the
recipes' songs from the same noise side by side, the comparison table and chart, the held-out songs below);
this command rebuilds either for any run folder, older ones included. A folder of songs shows one player
per track and for the mix, each song's beat picture (``beats.png``, drawn by ``eval``; else its
``mels.png``) and its own IRS / CBS / CBD, the run's metric table with intervals, and the command and recipe
that made the songs (``sampling.json``, written by ``sample``). The page works offline from ``file://``; the
audio stays in its WAV files beside it.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from . import console


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("report", help="write the listening page (index.html) of a folder of songs",
                                   description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folder", type=Path, metavar="DIR", help="a folder of songs (synctrack sample's --out)")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from ..reports import write_report
    from ..reports.comparison import is_comparison, write_comparison_page

    page = write_comparison_page(args.folder) if is_comparison(args.folder) else write_report(args.folder)
    console.out.print(f"wrote {page}", markup=False)
    return 0
