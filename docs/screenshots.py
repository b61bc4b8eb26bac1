"""Take the README's screenshots of a running console (the demo of `make run`).

    .venv/bin/python docs/screenshots.py [--url http://127.0.0.1:8000]

Logs in with the demo's accounts and writes the dashboard and a member's 360 view, in
Chinese and in English, to docs/images/.
"""

import argparse
import re
import shutil
from pathlib import Path

from playwright.sync_api import Page, sync_playwright

from regulars.demo.writers import DEMO_STAFF_PASSWORD

IMAGES = Path(__file__).parent / "images"
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"]


def log_in(page: Page, url: str, username: str, language: str) -> None:
    page.goto(f"{url}/console/login")
    page.fill("#username", username)
    page.fill("#password", DEMO_STAFF_PASSWORD)
    page.press("#password", "Enter")
    page.wait_for_url(f"{url}/console")
    wanted = "中文" if language == "zh-CN" else "English"
    switch = page.get_by_role("button", name=wanted)
    if switch.count():
        switch.click()
        page.wait_for_load_state()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    url = parser.parse_args().url
    IMAGES.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=shutil.which("chromium"), args=FLAGS)
        for language in ("zh-CN", "en"):
            page = browser.new_page(viewport={"width": 1360, "height": 900})
            log_in(page, url, "admin", language)
            page.wait_for_selector(".plot-container")
            page.screenshot(path=IMAGES / f"dashboard-{language}.png", full_page=True)
            page.goto(f"{url}/console/segments")
            first = page.locator('a[href^="/console/segments/"][href$="/members"]').first.get_attribute("href")
            page.goto(f"{url}{first}")
            member = page.locator('main a[href^="/console/members/"]').first.get_attribute("href")
            assert member and re.fullmatch(r"/console/members/\d+", member)
            page.goto(f"{url}{member}")
            page.screenshot(path=IMAGES / f"member-{language}.png", full_page=True)
            page.close()
        browser.close()


if __name__ == "__main__":
    main()
