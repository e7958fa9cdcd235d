"""The playground in a real headless Chromium, as a channel: /draw, the timeline, a thread.

The person's /draw is their message and the drawing comes below it, newest at the bottom and
scrolled into view; a drawing's thread opens beside the channel, and a reply's image lands
where it can be seen whole. The page's console stays free of errors and warnings.
"""

from __future__ import annotations

from typing import Any

from tests.browser import Easel, chromium, console_problems, drawings, needs_chromium
from tests.browser import screenshot as save_screenshot

pytestmark = needs_chromium

BUTTONS = ["Redo", "Vary", "Bigger", "Edit", "Delete"]
WHOLE = """
const [element, scroller] = arguments;
const r = element.getBoundingClientRect(), box = scroller.getBoundingClientRect();
return element.naturalWidth > 0 && r.height > 50 && r.top >= box.top - 1
  && r.bottom <= box.bottom + 1 && r.bottom <= innerHeight && r.right <= innerWidth;
"""
LIGHTHOUSE = "a lighthouse on a cliff at dusk"
FOX = "a red fox asleep in the snow"
STORMY = "now make it stormy"
AT_BOTTOM = "const s = arguments[0]; return s.scrollHeight - s.scrollTop - s.clientHeight < 2;"


def visible_text(driver: Any, element: Any) -> str:
    return str(driver.execute_script("return arguments[0].innerText", element))


def first_drawing(driver: Any, wait: Any) -> str:
    """/draw: ONE message shows a preview, then the final image in the same place; its id."""
    from selenium.webdriver.common.by import By

    driver.find_element(By.ID, "prompt").send_keys(f"/draw {LIGHTHOUSE}\n")
    preview = wait.until(
        lambda d: d.find_elements(By.CSS_SELECTOR, "#posts article.message.preview img")
    )[0]
    message_id = str(preview.find_element(By.XPATH, "../..").get_attribute("data-message"))
    final = wait.until(
        lambda d: d.find_elements(
            By.CSS_SELECTOR, f'#posts article.message.done[data-message="{message_id}"] img'
        )
    )[0]
    assert wait.until(lambda d: d.execute_script("return arguments[0].naturalWidth", final))
    link = driver.find_element(By.CSS_SELECTOR, "#posts a.download")
    assert "download=" in (link.get_attribute("href") or "")
    return message_id


def check_the_post(driver: Any, post: Any, message_id: str) -> None:
    """The /draw is the person's message, above easel's; the prompt is said once, by them;
    a channel of one post reads from the bottom, just above the composer, as a chat does."""
    from selenium.webdriver.common.by import By

    you, drawing = post.find_elements(By.CSS_SELECTOR, "article.message")
    assert "you" in (you.get_attribute("class") or "").split()
    assert you.find_element(By.CSS_SELECTOR, ".author").text == "you"
    assert you.find_element(By.CSS_SELECTOR, ".text").text == f"/draw {LIGHTHOUSE}"
    assert drawing.find_element(By.CSS_SELECTOR, ".author").text == "easel"
    assert drawing.get_attribute("data-message") == message_id
    easels = visible_text(driver, drawing)
    assert "lighthouse" not in easels and "Reply in this thread" not in easels
    labels = [b.text for b in drawing.find_elements(By.CSS_SELECTOR, ".actions button")]
    assert labels == BUTTONS
    below = driver.execute_script(
        "const [p, t] = arguments;"
        "return t.getBoundingClientRect().bottom - p.getBoundingClientRect().bottom",
        post,
        driver.find_element(By.ID, "timeline"),
    )
    assert 0 <= below < 40, below


def second_drawing_below(driver: Any, wait: Any) -> None:
    """A second drawing lands below the first, and the channel scrolls to show it whole."""
    from selenium.webdriver.common.by import By

    driver.find_element(By.ID, "prompt").send_keys(f"/draw {FOX}\n")
    timeline = driver.find_element(By.ID, "timeline")
    newest = wait.until(
        lambda d: d.find_elements(By.CSS_SELECTOR, "#posts .post:nth-child(2) .done img")
    )[0]
    wait.until(lambda d: d.execute_script(WHOLE, newest, timeline))
    assert driver.execute_script(AT_BOTTOM, timeline)
    posts = driver.find_elements(By.CSS_SELECTOR, "#posts .post")
    said = [p.find_element(By.CSS_SELECTOR, ".you .text").text for p in posts]
    assert said == [f"/draw {LIGHTHOUSE}", f"/draw {FOX}"]


def reply_in_the_thread(driver: Any, wait: Any, post: Any) -> None:
    """The first drawing's thread opens beside the channel; a reply's image is seen whole."""
    from selenium.webdriver.common.by import By

    post.find_element(By.CSS_SELECTOR, ".replies").click()
    panel = driver.find_element(By.ID, "panel")
    assert panel.is_displayed()
    scroller = driver.find_element(By.ID, "thread-scroller")
    driver.find_element(By.CSS_SELECTOR, "#reply input[name=prompt]").send_keys(f"{STORMY}\n")
    drawn = wait.until(lambda d: drawings(d)[1:])[0]
    wait.until(lambda d: d.execute_script(WHOLE, drawn, scroller))
    yours = panel.find_elements(By.CSS_SELECTOR, "article.you .text")
    assert [y.text for y in yours] == [f"/draw {LIGHTHOUSE}", STORMY]
    assert post.find_element(By.CSS_SELECTOR, ".replies").text == "2 replies"
    assert len(driver.find_elements(By.CSS_SELECTOR, "#posts .post")) == 2


def test_draw_and_reply_in_a_real_browser(offline_easel: Easel) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    with chromium() as driver:
        wait = WebDriverWait(driver, 30, poll_frequency=0.05)
        driver.get(offline_easel.url)
        status, icon = offline_easel.fetch("/favicon.ico")
        assert status == 200 and icon.startswith(b"<svg")
        message_id = first_drawing(driver, wait)
        [post] = driver.find_elements(By.CSS_SELECTOR, "#posts .post")
        check_the_post(driver, post, message_id)
        second_drawing_below(driver, wait)
        reply_in_the_thread(driver, wait, post)

        notes = driver.execute_script(
            "return [...document.querySelectorAll('article.done .note .revised')]"
            ".map(n => [n.closest('article').dataset.message, n.textContent])"
        )
        revised = dict(notes)
        assert all(n.startswith("offline preview") for n in revised.values())
        assert len(revised) == 3
        save_screenshot(driver, "playground.png")
        assert console_problems(driver) == []
