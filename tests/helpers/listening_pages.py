"""Reading listening pages back in tests: a real HTML parser, and the check that every link is a file."""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote


class Page(HTMLParser):
    """The parts of a page the tests look at: audio and image sources, scripts, table rows, all text."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.audio, self.images, self.scripts, self.rows, self.text = [], [], 0, 0, []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "audio":
            self.audio.append(attributes["src"])
        elif tag == "img":
            self.images.append(attributes["src"])
        elif tag == "script":
            self.scripts += 1
        elif tag == "tr":
            self.rows += 1

    def handle_data(self, data):
        self.text.append(data)


def read_page(folder: Path) -> Page:
    """``folder/index.html`` parsed, after checking that every player and picture is a file beside it."""
    page = Page((folder / "index.html").read_text(encoding="utf-8"))
    for source in [*page.audio, *page.images]:
        assert not source.startswith(("/", "http", "file:")), source
        assert (folder / unquote(source)).is_file(), source
    return page
