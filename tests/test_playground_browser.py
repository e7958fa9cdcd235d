"""The playground in a real headless Chromium: /draw, previews, the final image, a reply.

Runs easel exactly as a newcomer would, with no credentials at all: the offline backend
draws and the playground serves the page. Needs Debian's chromium and chromium-driver
(./scripts/test installs them where it can); without them the test skips and says so.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"

pytestmark = pytest.mark.skipif(
    not (os.path.exists(CHROMIUM) and os.path.exists(CHROMEDRIVER)),
    reason=f"needs {CHROMIUM} and {CHROMEDRIVER} (apt-get install chromium chromium-driver)",
)


@pytest.fixture
def easel_process(tmp_path: Path, unused_tcp_port: int) -> Iterator[str]:
    """`easel` as the README runs it, with an empty environment: the offline playground."""
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(tmp_path),
        "EASEL_PORT": str(unused_tcp_port),
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
        for line in process.stdout:  # ends if the process dies before printing the address
            if line.startswith("easel playground: "):
                yield line.split(": ", 1)[1].strip()
                break
        else:
            pytest.fail(f"easel exited with {process.wait()} before serving the playground")
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()


def test_draw_and_reply_in_a_real_browser(easel_process: str) -> None:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

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
        "--window-size=1400,900",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options, service=Service(executable_path=CHROMEDRIVER))
    wait = WebDriverWait(driver, 30, poll_frequency=0.05)
    try:
        driver.get(easel_process)
        driver.find_element(By.ID, "prompt").send_keys("/draw a lighthouse on a cliff at dusk\n")

        # ONE message: first a preview appears in it, then the final image in the same place.
        preview = wait.until(
            lambda d: d.find_elements(By.CSS_SELECTOR, "article.message.preview img")
        )[0]
        message_id = preview.find_element(By.XPATH, "..").get_attribute("data-message")
        final = wait.until(
            lambda d: d.find_elements(
                By.CSS_SELECTOR, f'article.message.done[data-message="{message_id}"] img'
            )
        )[0]
        assert wait.until(lambda d: d.execute_script("return arguments[0].naturalWidth", final))
        assert len(driver.find_elements(By.CSS_SELECTOR, "section.thread")) == 1
        link = driver.find_element(By.CSS_SELECTOR, "a.download")
        assert "download=" in (link.get_attribute("href") or "")

        reply = driver.find_element(By.CSS_SELECTOR, "section.thread form.reply input[name=prompt]")
        reply.send_keys("now make it stormy\n")
        wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "article.message.done img")) == 2)
        notes = [n.text for n in driver.find_elements(By.CSS_SELECTOR, "article.message .note")]
        assert all(n.startswith("offline preview") for n in notes) and len(notes) == 2
        assert len(driver.find_elements(By.CSS_SELECTOR, "section.thread")) == 1
        ARTIFACTS.mkdir(exist_ok=True)
        driver.save_screenshot(str(ARTIFACTS / "playground.png"))
    finally:
        driver.quit()
