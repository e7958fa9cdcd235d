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


def yours(driver: Any) -> list[str]:
    """What the person said in the open thread, oldest first."""
    from selenium.webdriver.common.by import By

    found = driver.find_elements(By.CSS_SELECTOR, "#thread-messages article.you .text")
    return [y.text for y in found]


def redo_vary_bigger(driver: Any, wait: Any, first: Any) -> None:
    """Redo from the channel (a double click, then a click while it draws: one drawing), then
    Vary and Bigger from the thread, which opens beside the channel."""
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By

    original = first.get_attribute("data-message") or ""
    size = natural_size(driver, first.find_element(By.CSS_SELECTOR, "img"))
    redo = first.find_element(By.CSS_SELECTOR, "button[data-action=redo]")
    ActionChains(driver).double_click(redo).perform()
    panel = driver.find_element(By.ID, "panel")
    wait.until(lambda d: redo.is_enabled() and panel.is_displayed())  # easel took the press
    redo.click()  # its drawing is on its way: easel says so, and draws it once
    notice = driver.find_element(By.ID, "notice")
    wait.until(lambda d: "already being drawn" in notice.text)
    [refused] = console_problems(driver)
    assert "/api/press" in refused and "400" in refused, refused
    wait.until(lambda d: len(drawings(d)) == 2)
    for count, label in ((3, "Vary"), (4, "Bigger")):
        button(driver, original, label).click()
        wait.until(lambda d, count=count: len(drawings(d)) == count)
    bigger = natural_size(driver, drawings(driver)[-1])
    assert bigger[0] * bigger[1] > size[0] * size[1], (bigger, size)
    assert yours(driver) == ["/draw a paper boat on a pond", "Redo", "Vary", "Bigger"]


def edit_in_its_dialog(driver: Any, wait: Any, original: str) -> None:
    """Edit asks in a dialog; its words are the thread's next turn."""
    from selenium.webdriver.common.by import By

    button(driver, original, "Edit").click()
    dialog = driver.find_element(By.ID, "edit-dialog")
    assert driver.execute_script("return arguments[0].open", dialog)
    dialog.find_element(By.CSS_SELECTOR, "textarea").send_keys("give the boat a red sail")
    dialog.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait.until(lambda d: not d.execute_script("return arguments[0].open", dialog))
    wait.until(lambda d: len(drawings(d)) == 5)
    assert yours(driver)[-1] == "give the boat a red sail"


def delete_from_two_tabs(driver: Any, wait: Any, easel: Easel, first: Any) -> None:
    """Delete, with a second tab open: the drawing leaves both, and its image is gone."""
    from selenium.webdriver.common.by import By

    original = first.get_attribute("data-message") or ""
    image = first.find_element(By.CSS_SELECTOR, "img").get_attribute("src") or ""
    first_tab = driver.current_window_handle
    driver.switch_to.new_window("tab")
    driver.get(easel.url)
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
    assert easel.fetch(image)[0] == 404
    assert console_problems(driver) == []
    driver.switch_to.window(first_tab)


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
        redo_vary_bigger(driver, wait, first)
        edit_in_its_dialog(driver, wait, first.get_attribute("data-message") or "")
        assert console_problems(driver) == []
        delete_from_two_tabs(driver, wait, offline_easel, first)
        assert console_problems(driver) == []
