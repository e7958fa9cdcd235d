"""The buttons under a drawing, in a real headless Chromium: Redo, Vary, Bigger, Edit, Delete.

Each button that draws adds a drawing to the thread; Edit asks for its words in a dialog;
Delete takes the drawing away from every open tab.
"""

from __future__ import annotations

from typing import Any

from tests.browser import Easel, chromium, console_problems, drawings, natural_size, needs_chromium

pytestmark = needs_chromium

BUTTONS = ["Redo", "Vary", "Bigger", "Edit", "Delete"]


def button(driver: Any, message_id: str, label: str) -> Any:
    from selenium.webdriver.common.by import By

    found = driver.find_elements(
        By.CSS_SELECTOR, f'#thread-messages article[data-message="{message_id}"] .actions button'
    )
    [chosen] = [b for b in found if b.text == label]
    return chosen


def test_every_button_in_a_real_browser(offline_easel: Easel) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    with chromium() as driver:
        wait = WebDriverWait(driver, 30, poll_frequency=0.05)
        driver.get(offline_easel.url)
        driver.find_element(By.ID, "prompt").send_keys("/draw a paper boat on a pond\n")
        first = wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#posts article.done"))[0]
        labels = [b.text for b in first.find_elements(By.CSS_SELECTOR, ".actions button")]
        assert labels == BUTTONS
        original = first.get_attribute("data-message") or ""
        size = natural_size(driver, first.find_element(By.CSS_SELECTOR, "img"))

        # Redo, from the channel: its drawing is the thread's next, and the thread opens.
        first.find_element(By.CSS_SELECTOR, "button[data-action=redo]").click()
        wait.until(lambda d: len(drawings(d)) == 2)
        assert driver.find_element(By.ID, "panel").is_displayed()
        for count, label in ((3, "Vary"), (4, "Bigger")):
            button(driver, original, label).click()
            wait.until(lambda d, count=count: len(drawings(d)) == count)
        bigger = natural_size(driver, drawings(driver)[-1])
        assert bigger[0] * bigger[1] > size[0] * size[1], (bigger, size)
        yours = driver.find_elements(By.CSS_SELECTOR, "#thread-messages article.you .text")
        assert [y.text for y in yours] == [
            "/draw a paper boat on a pond",
            "Redo",
            "Vary",
            "Bigger",
        ]

        # Edit asks in a dialog; its words are the thread's next turn.
        button(driver, original, "Edit").click()
        dialog = driver.find_element(By.ID, "edit-dialog")
        assert driver.execute_script("return arguments[0].open", dialog)
        dialog.find_element(By.CSS_SELECTOR, "textarea").send_keys("give the boat a red sail")
        dialog.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
        wait.until(lambda d: not d.execute_script("return arguments[0].open", dialog))
        wait.until(lambda d: len(drawings(d)) == 5)
        last_yours = driver.find_elements(By.CSS_SELECTOR, "#thread-messages article.you .text")
        assert last_yours[-1].text == "give the boat a red sail"
        assert console_problems(driver) == []

        # Delete, with a second tab open: the drawing leaves both.
        image = first.find_element(By.CSS_SELECTOR, "img").get_attribute("src") or ""
        first_tab = driver.current_window_handle
        driver.switch_to.new_window("tab")
        driver.get(offline_easel.url)
        selector = f'article[data-message="{original}"]'
        wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, f"#posts {selector}.done img"))
        second_tab = driver.current_window_handle
        driver.switch_to.window(first_tab)
        button(driver, original, "Delete").click()
        wait.until(lambda d: not d.find_elements(By.CSS_SELECTOR, selector))
        assert len(drawings(driver)) == 4
        driver.switch_to.window(second_tab)
        wait.until(lambda d: not d.find_elements(By.CSS_SELECTOR, selector))
        assert driver.find_elements(By.CSS_SELECTOR, "#posts article.you")  # yours stays
        assert offline_easel.fetch(image)[0] == 404
        assert console_problems(driver) == []
        driver.switch_to.window(first_tab)
        assert console_problems(driver) == []
