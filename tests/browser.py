"""easel's playground in a real headless Chromium: the process, the browser and what they saw.

easel runs exactly as a newcomer runs it, with no credentials at all: the offline backend
draws and the playground serves the page. Needs Debian's chromium and chromium-driver
(./scripts/test installs them where it can); without them the tests skip and say so.
"""

from __future__ import annotations

import io
import os
import shutil
import signal
import subprocess
import sys
import threading
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
WIDTH, HEIGHT = 1280, 900  # the page as a laptop shows it

needs_chromium = pytest.mark.skipif(
    not (os.path.exists(CHROMIUM) and os.path.exists(CHROMEDRIVER)),
    reason=f"needs {CHROMIUM} and {CHROMEDRIVER} (apt-get install chromium chromium-driver)",
)


@dataclass
class Easel:
    """A running `easel`: its playground's address and every line it has logged so far."""

    url: str
    log: list[str] = field(default_factory=list)

    def logged(self, text: str) -> list[str]:
        return [line for line in list(self.log) if text in line]

    def fetch(self, path: str) -> tuple[int, bytes]:
        """GET a path (or a URL) of the playground as the page would (no token: images, the
        icon)."""
        url = path if path.startswith("http") else self.url.rstrip("/") + path
        try:
            with urllib.request.urlopen(url, timeout=10) as answer:
                return answer.status, answer.read()
        except urllib.error.HTTPError as refused:
            return refused.code, b""

    def image(self, path: str) -> Image.Image:
        status, data = self.fetch(path)
        assert status == 200, (path, status)
        return Image.open(io.BytesIO(data)).convert("RGBA")


@contextmanager
def running_easel(tmp_path: Path, port: int) -> Iterator[Easel]:
    """`easel` as the README runs it, with an empty environment: the offline playground."""
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(tmp_path),
        "EASEL_PORT": str(port),
        "EASEL_DB": str(tmp_path / "easel.db"),
    }
    easel = Path(sys.executable).with_name("easel")
    process = subprocess.Popen(
        [str(easel)],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert process.stdout is not None
        found = _address(process.stdout)
        if found is None:
            pytest.fail(f"easel exited with {process.wait()} before serving the playground")
        running = Easel(url=found)
        # Read the rest of its log as it comes, so a full pipe never stops easel.
        reader = threading.Thread(
            target=lambda: running.log.extend(process.stdout or ()), daemon=True
        )
        reader.start()
        yield running
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()


def _address(lines: Any) -> str | None:
    for line in lines:  # ends if the process dies before printing the address
        if line.startswith("easel playground: "):
            return str(line.split(": ", 1)[1].strip())
    return None


@pytest.fixture
def offline_easel(tmp_path: Path, unused_tcp_port: int) -> Iterator[Easel]:
    with running_easel(tmp_path, unused_tcp_port) as running:
        yield running


@contextmanager
def chromium() -> Iterator[Any]:
    """A headless Chromium whose page is 1280x900 and whose console is kept."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--window-size={WIDTH},{HEIGHT + 200}",
    ):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(executable_path=CHROMEDRIVER))
    try:
        size = {"width": WIDTH, "height": HEIGHT, "deviceScaleFactor": 1, "mobile": False}
        driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", size)
        yield driver
    finally:
        driver.quit()


def drawings(driver: Any, where: str = "#thread-messages") -> list[Any]:
    """The finished drawings shown `where` whose pictures have loaded, oldest first."""
    from selenium.webdriver.common.by import By

    return [
        image
        for image in driver.find_elements(By.CSS_SELECTOR, f"{where} article.easel.done img")
        if natural_size(driver, image)[0]
    ]


def natural_size(driver: Any, image: Any) -> list[int]:
    """An image's own width and height, in its pixels ([0, 0] until it has loaded)."""
    return list(
        driver.execute_script(
            "const i = arguments[0]; return [i.naturalWidth, i.naturalHeight]", image
        )
    )


def console_problems(driver: Any) -> list[str]:
    """What the page's console said at warning level or above since the last call."""
    return [
        f"{entry['level']}: {entry['message']}"
        for entry in driver.get_log("browser")
        if entry["level"] in ("WARNING", "SEVERE")
    ]


def screenshot(driver: Any, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    driver.save_screenshot(str(ARTIFACTS / name))
