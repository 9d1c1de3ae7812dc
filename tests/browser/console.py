"""A test's view of the console in the browser: visit, sign in, fill, press, read errors, and
a screenshot of every page visited."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement

T = TypeVar("T")


class Console:
    def __init__(self, driver: WebDriver, url: str, screenshots: Path) -> None:
        self.driver = driver
        self.url = url
        self.screenshots = screenshots

    def sign_out_everywhere(self) -> None:
        """Forget every cookie of the server's host (cookies do not tell ports apart)."""
        self.driver.get(f"{self.url}/livez")
        self.driver.delete_all_cookies()

    def visit(self, path: str) -> None:
        self.driver.get(f"{self.url}{path}")

    def shot(self, name: str) -> Path:
        """Save a screenshot of the page shown as ``<name>.png``."""
        self.screenshots.mkdir(parents=True, exist_ok=True)
        target = self.screenshots / f"{name}.png"
        self.driver.save_screenshot(str(target))
        return target

    @property
    def path(self) -> str:
        current: str = self.driver.current_url
        return current.removeprefix(self.url)

    @property
    def title(self) -> str:
        return str(self.driver.title)

    def find(self, css: str) -> WebElement:
        return self.driver.find_element(By.CSS_SELECTOR, css)

    def all(self, css: str) -> list[WebElement]:
        return list(self.driver.find_elements(By.CSS_SELECTOR, css))

    def has(self, css: str) -> bool:
        return bool(self.all(css))

    def button(self, text: str) -> WebElement:
        for element in self.all("button"):
            if element.text.strip() == text:
                return element
        raise NoSuchElementException(f"no button {text!r} on {self.path}")

    def buttons(self) -> list[str]:
        return [element.text.strip() for element in self.all("main button")]

    def link(self, text: str) -> WebElement:
        return self.driver.find_element(By.PARTIAL_LINK_TEXT, text)

    def fill(self, name: str, value: str) -> None:
        element = self.find(f'[name="{name}"]')
        element.clear()
        element.send_keys(value)

    def error_at(self, name: str) -> str:
        """The error shown under the field ``name`` (empty when there is none)."""
        ident = name.replace(".", "-")
        found = self.all(f"#{ident}-error")
        return found[0].text if found else ""

    def sign_in(self, email: str, password: str) -> None:
        self.visit("/ui/login")
        self.fill("email", email)
        self.fill("password", password)
        self.button("Sign in").click()
        self.wait(lambda: "/ui/login" not in self.path or self.has(".field-error"))

    def sign_out(self) -> None:
        self.button("Sign out").click()
        self.wait(lambda: "/ui/login" in self.path)

    def wait(self, condition: Callable[[], T], timeout: float = 15.0) -> T:
        """Poll ``condition`` until it returns something true, or fail at the deadline."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                value = condition()
            except (NoSuchElementException, StaleElementReferenceException):
                value = None  # type: ignore[assignment]
            if value:
                return value
            if time.monotonic() > deadline:
                text = self.driver.find_element(By.TAG_NAME, "body").text[:1500]
                raise AssertionError(f"not reached within {timeout}s on {self.path}:\n{text}")
            time.sleep(0.05)
