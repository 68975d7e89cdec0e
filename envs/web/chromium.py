"""The real-browser backend: the generated page loaded in headless Chromium through Playwright, clicks and typing
executed by the browser, the DOM observation read back from it.

No browser can be downloaded at run time here, so Playwright launches the system's Chromium (Debian's `chromium`
package) by path: $APPLIEDRL_CHROMIUM, else the first of `chromium`, `chromium-browser`, `google-chrome` on PATH.
One browser serves every env of a process (each env has its own page), started at the first reset.
"""

from __future__ import annotations

import io
import os
import shutil
from typing import Any

import numpy as np

from appliedrl.envs.web.dom import Page

EXECUTABLES = ("chromium", "chromium-browser", "google-chrome")
INSTALL_HINT = ("install Chromium (Debian/Ubuntu: `apt-get install chromium`) and the Python driver "
                "(`pip install playwright`), or set APPLIEDRL_CHROMIUM to a Chromium executable")
VIEWPORT = {"width": 640, "height": 480}
ACTION_TIMEOUT_MS = 5_000

# the records DomPage reads with lxml, read from the browser (same order: <body>, then its descendants)
_READ_ELEMENTS = """() => {
  const all = [document.body, ...document.body.querySelectorAll('*')];
  const index = new Map(all.map((e, i) => [e, i]));
  return all.map(e => ({tag: e.tagName.toLowerCase(), type: e.getAttribute('type') || 'text', id: e.id,
    class: e.getAttribute('class') || '', for: e.getAttribute('for') || '', key: e.getAttribute('data-key') || '',
    text: Array.from(e.childNodes).filter(n => n.nodeType === 3).map(n => n.textContent).join(''),
    parent: index.has(e.parentElement) ? index.get(e.parentElement) : -1,
    value: e.tagName === 'INPUT' ? e.value : '', checked: e.tagName === 'INPUT' && e.checked}));
}"""
_READ_STATE = """() => {
  const all = [document.body, ...document.body.querySelectorAll('*')];
  return [all.map(e => e.tagName === 'INPUT' ? [e.value, e.checked] : null), all.indexOf(document.activeElement)];
}"""

_driver: Any = None  # Playwright, started once per process
_browser: Any = None


def chromium_executable() -> str:
    """The browser Playwright launches; a clear error when there is none."""
    path = os.environ.get("APPLIEDRL_CHROMIUM") or next(filter(None, map(shutil.which, EXECUTABLES)), None)
    if not path:
        raise RuntimeError(f"backend='chromium' found no Chromium executable; {INSTALL_HINT}")
    return path


def _shared_browser() -> Any:
    global _driver, _browser
    if _browser is None:
        executable = chromium_executable()
        if _driver is None:
            try:
                from playwright.sync_api import sync_playwright
            except ImportError as error:
                raise RuntimeError(f"backend='chromium' needs Playwright ({error}); {INSTALL_HINT}") from None
            _driver = sync_playwright().start()
        try:
            _browser = _driver.chromium.launch(executable_path=executable, headless=True)
        except Exception as error:
            raise RuntimeError(f"Chromium at {executable} could not start ({str(error).splitlines()[0]}); "
                               f"{INSTALL_HINT}") from None
    return _browser


class ChromiumPage(Page):
    """One browser page showing the task's pages."""

    def __init__(self, page: str) -> None:
        self._context = _shared_browser().new_context(viewport=VIEWPORT)
        self._page = self._context.new_page()
        self._page.set_default_timeout(ACTION_TIMEOUT_MS)
        self.load(page)

    def load(self, page: str) -> None:
        self._page.set_content(page)
        self._elements = self._page.locator("body, body *")  # a locator holds no browser handles
        self._index(self._page.evaluate(_READ_ELEMENTS))

    def click(self, ref: int) -> None:
        self._elements.nth(ref).click()
        self._read_state()

    def type(self, ref: int, text: str) -> None:
        self._elements.nth(ref).fill(text)
        self._read_state()

    def _read_state(self) -> None:
        inputs, active = self._page.evaluate(_READ_STATE)
        self.values = {ref: inputs[ref][0] for ref in self.values}
        self.checked = {ref: inputs[ref][1] for ref in self.checked}
        self.focused = active if active > 0 else None

    def screenshot(self) -> np.ndarray:
        from PIL import Image

        return np.asarray(Image.open(io.BytesIO(self._page.screenshot())).convert("RGB"))

    def close(self) -> None:
        self._context.close()
