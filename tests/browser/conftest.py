"""Browser tests of the console: Debian's Chromium, headless, driven by Selenium through
``/usr/bin/chromedriver``, against the real API server (``tests/support/api_server.py``) and,
where a test needs one, a real worker.

One browser serves the whole session; each test gets a fresh database, its own server and a
browser without cookies. Every page a test visits is photographed: into ``docs/console/`` when
``GOVFLOW_SCREENSHOTS=1`` (how the screenshots in the docs are refreshed), else into the test's
temporary folder, so ``make test`` leaves the tree clean.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.remote.webdriver import WebDriver

from govflow.settings import Settings
from tests.browser.console import Console
from tests.support.api_server import ApiServer
from tests.support.engine import processes

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
SCREENSHOTS = ROOT / "docs" / "console"


@pytest.fixture(scope="session")
def browser() -> Iterator[WebDriver]:
    """Headless Chromium for the session (``make test`` installs it: ``make chromium``)."""
    for path in (CHROMIUM, CHROMEDRIVER):
        if shutil.which(path) is None:
            pytest.fail(f"{path} is missing: `make chromium` installs chromium chromium-driver")
    options = Options()
    options.binary_location = CHROMIUM
    for argument in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--disable-extensions",
        "--window-size=1280,900",
        "--lang=en-US",
    ):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture
def screenshots(tmp_path: Path) -> Path:
    """Where this test's screenshots go (``docs/console/`` with ``GOVFLOW_SCREENSHOTS=1``)."""
    if os.environ.get("GOVFLOW_SCREENSHOTS") == "1":
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        return SCREENSHOTS
    return tmp_path / "screenshots"


@pytest.fixture
async def api_server(settings: Settings) -> AsyncIterator[ApiServer]:
    """``govflow api`` on a free loopback port, over this test's database."""
    async with ApiServer(settings) as server:
        yield server


@pytest.fixture
def console(browser: WebDriver, api_server: ApiServer, screenshots: Path) -> Iterator[Console]:
    """The browser pointed at this test's server, signed out."""
    page = Console(browser, api_server.url, screenshots)
    page.sign_out_everywhere()
    try:
        yield page
    finally:
        page.sign_out_everywhere()


@pytest.fixture
def worker(settings: Settings) -> Iterator[None]:
    """A real ``govflow worker`` over this test's database and queue."""
    with processes(settings, GOVFLOW_PLUGINS_MODULES="") as group:
        group.start("worker")
        yield
