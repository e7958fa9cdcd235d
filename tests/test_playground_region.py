"""Edit region, in a real headless Chromium: paint over a drawing, say what to change, send.

The page sends a reply carrying `mask.png`: the drawing's own size, transparent where painted
and opaque elsewhere. The offline backend changes the picture only where the mask is
transparent, so what it draws shows the mask reached the drawing service whole.
"""

from __future__ import annotations

from typing import Any

from tests.browser import (
    Easel,
    chromium,
    console_problems,
    drawings,
    natural_size,
    needs_chromium,
    screenshot,
)

pytestmark = needs_chromium

# Keeps what the page posts: each file's name, and for mask.png its size and some alphas.
RECORD_POSTS = """
window.posted = [];
const original = window.fetch;
window.fetch = async (url, init) => {
  if (init && init.body instanceof FormData) {
    const files = [];
    for (const value of init.body.values()) {
      if (!(value instanceof File)) continue;
      const sent = { name: value.name, type: value.type };
      if (value.name === "mask.png") {
        const bitmap = await createImageBitmap(value, { premultiplyAlpha: "none" });
        const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
        const pen = canvas.getContext("2d", { willReadFrequently: true });
        pen.drawImage(bitmap, 0, 0);
        const alpha = (x, y) => pen.getImageData(x, y, 1, 1).data[3];
        Object.assign(sent, {
          width: bitmap.width, height: bitmap.height,
          centre: alpha(bitmap.width >> 1, bitmap.height >> 1), corner: alpha(3, 3),
        });
      }
      files.push(sent);
    }
    window.posted.push({ url: String(url), prompt: init.body.get("prompt"), files });
  }
  return original(url, init);
};
"""


def open_and_paint(driver: Any, image: Any, prompt: str) -> tuple[Any, list[int]]:
    """Opens Edit region on `image`'s drawing, paints a stroke through its centre and says
    `prompt`; the dialog, and the drawing's size."""
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    wait = WebDriverWait(driver, 30, poll_frequency=0.05)
    article = image.find_element(By.XPATH, "../..")
    article.find_element(By.CSS_SELECTOR, "button.region").click()
    dialog = driver.find_element(By.ID, "region-dialog")
    canvas = dialog.find_element(By.CSS_SELECTOR, "canvas")
    natural = natural_size(driver, image)
    wait.until(
        lambda d: (
            d.execute_script("return [arguments[0].width, arguments[0].height]", canvas) == natural
        )
    )
    strokes = ActionChains(driver).move_to_element(canvas).click_and_hold()
    strokes.move_by_offset(-30, -10).move_by_offset(60, 20).release().perform()
    dialog.find_element(By.CSS_SELECTOR, "input[name=prompt]").send_keys(prompt)
    return dialog, natural


def paint_and_send(driver: Any, image: Any, prompt: str) -> list[int]:
    """Paints over `image`'s drawing and sends the change; the drawing's size."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    dialog, natural = open_and_paint(driver, image, prompt)
    dialog.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait = WebDriverWait(driver, 30, poll_frequency=0.05)
    wait.until(lambda d: not d.execute_script("return arguments[0].open", dialog))
    return natural


def painted_then_cleared(driver: Any, image: Any) -> None:
    """Painted, then cleared: the dialog says so and sends nothing."""
    from selenium.webdriver.common.by import By

    driver.execute_script(RECORD_POSTS)
    dialog, _ = open_and_paint(driver, image, "a full moon")
    dialog.find_element(By.CSS_SELECTOR, "button.clear").click()
    dialog.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    error = dialog.find_element(By.CSS_SELECTOR, ".error")
    assert error.text == "Paint over the part of the drawing to change first."
    assert driver.execute_script("return window.posted") == []
    dialog.find_element(By.CSS_SELECTOR, "button.cancel").click()


def test_edit_region_sends_a_mask_of_the_drawings_size(offline_easel: Easel) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    with chromium() as driver:
        wait = WebDriverWait(driver, 30, poll_frequency=0.05)
        driver.get(offline_easel.url)
        driver.find_element(By.ID, "prompt").send_keys("/draw a quiet night over a harbour\n")
        wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#posts article.done img"))
        driver.find_element(By.CSS_SELECTOR, "#posts .replies").click()
        [first] = wait.until(drawings)
        before = offline_easel.image(first.get_attribute("src"))

        painted_then_cleared(driver, first)

        # The thread's last drawing: the mask goes alone, and marks that drawing.
        natural = paint_and_send(driver, first, "a full moon")
        wait.until(lambda d: len(drawings(d)) == 2)
        [sent] = driver.execute_script("return window.posted")
        assert sent["url"] == "/api/draw" and sent["prompt"] == "a full moon"
        [mask] = sent["files"]
        assert (mask["name"], mask["type"]) == ("mask.png", "image/png")
        assert [mask["width"], mask["height"]] == natural
        assert (mask["centre"], mask["corner"]) == (0, 255)
        assert len(offline_easel.logged("'mask': 'mask.png'")) == 1, offline_easel.log

        # The service drew the change inside the painted region only.
        after = offline_easel.image(drawings(driver)[1].get_attribute("src"))
        assert after.size == before.size
        width, height = before.size
        centre, aside = (width // 2, height // 2), (width * 9 // 10, height * 4 // 10)
        assert after.getpixel(centre) != before.getpixel(centre)
        assert after.getpixel(aside) == before.getpixel(aside)

        # An earlier drawing of the thread: the page sends it beside its mask.
        paint_and_send(driver, drawings(driver)[0], "a lantern on the quay")
        wait.until(lambda d: len(drawings(d)) == 3)
        names = [f["name"] for f in driver.execute_script("return window.posted")[1]["files"]]
        assert names == ["mask.png", "drawing.png"]
        assert len(offline_easel.logged("'mask': 'mask.png'")) == 2
        screenshot(driver, "playground-region.png")
        assert console_problems(driver) == []
