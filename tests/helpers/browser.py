"""A real browser for page tests: Debian's headless Chromium driven by Selenium through Debian's ChromeDriver.

``headless_chromium()`` skips the calling test, with the command that installs what is missing, when Chromium,
ChromeDriver or Selenium is not on the machine (``.ci/run`` installs Chromium and ChromeDriver first; Selenium
is in the ``dev`` extra).
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from collections.abc import Iterator

import pytest

# What a test pays for is the page, not the browser's own traffic: no network, no first-run work (this machine
# refuses outside connections, and Chromium retries them at every start).
FLAGS = ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync", "--mute-audio",
         "--autoplay-policy=no-user-gesture-required", "--window-size=1280,2000")

# Asks every <audio> for its metadata (the pages say preload="none"), then reports [src, duration, error code].
AUDIO_DURATIONS = """
const done = arguments[arguments.length - 1];
const players = Array.from(document.querySelectorAll("audio"));
const found = new Array(players.length);
let left = players.length;
if (left === 0) { done(found); }
players.forEach((audio, index) => {
  const finish = () => {
    found[index] = [audio.getAttribute("src"), audio.duration, audio.error ? audio.error.code : null];
    if (--left === 0) { done(found); }
  };
  audio.addEventListener("loadedmetadata", finish, {once: true});
  audio.addEventListener("error", finish, {once: true});
  audio.preload = "metadata";
  audio.load();
});
"""


def missing() -> str | None:
    """Why no browser test can run here, or None."""
    if shutil.which("chromium") is None or shutil.which("chromedriver") is None:
        return "Chromium or ChromeDriver is not installed: apt-get install chromium chromium-driver (.ci/run does)"
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "Selenium is not installed: pip install -e '.[dev]'"
    return None


@contextlib.contextmanager
def headless_chromium() -> Iterator:
    """A Selenium WebDriver on headless Chromium that keeps the console's messages (``get_log("browser")``)."""
    reason = missing()
    if reason is not None:
        pytest.skip(reason)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium")
    for flag in FLAGS:
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    with tempfile.TemporaryDirectory(prefix="synctrack-chromium-") as profile:
        options.add_argument(f"--user-data-dir={profile}")
        # an explicit driver path: Selenium would otherwise try to download one
        driver = webdriver.Chrome(options=options, service=Service(executable_path=shutil.which("chromedriver")))
        try:
            driver.set_script_timeout(120)
            yield driver
        finally:
            driver.quit()


def screenshot(page: str, picture: str, width: int = 1280, height: int = 1600) -> None:
    """Save the top ``width`` x ``height`` pixels of ``page`` (a file) as it renders in headless Chromium."""
    from pathlib import Path

    with headless_chromium() as driver:
        driver.set_window_size(width, height)
        driver.get(Path(page).resolve().as_uri())
        driver.save_screenshot(str(picture))


if __name__ == "__main__":  # python tests/helpers/browser.py runs/demo/index.html docs/images/demo-page.png
    import sys

    if len(sys.argv) != 3:
        raise SystemExit("usage: python tests/helpers/browser.py PAGE.html PICTURE.png")
    screenshot(sys.argv[1], sys.argv[2])
