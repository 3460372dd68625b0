"""The chat widget in a real browser: headless Chromium (Debian's `chromium`, driven by Playwright) loads a page on
one loopback origin that embeds `/widget.js` from a real `deskbot serve` (FakeLLM) on another.

The customer opens the bubble, asks, sees the answer stream in (first characters within 1 s of Enter, timed in the
page) and its sources (a web source as a link, a `javascript:` source as plain text, HTML in a title as text), rates
it, writes HTML that stays text, reloads the page and finds the conversation again, asks for a person and sees the
handoff text, closes the panel with Esc; on a phone-sized screen the panel fills it. No console errors throughout.
The widget's screenshot goes to `$WIDGET_SCREENSHOT` when that is set (`docs/widget.png` is made so).

The operator console in the same Chromium: a customer asks (with HTML in a message), presses "talk to a person";
an operator logs in at /admin/login with an operator key, finds the handed-off conversation, sees its thread with
the HTML shown as text (no script runs), replies; the widget shows the reply, labelled as from a person. Its
screenshot goes to `$CONSOLE_SCREENSHOT` when that is set (`docs/console.png`), the widget's with the person's reply
to `$WIDGET_PERSON_SCREENSHOT` (`docs/widget-person.png`).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.deskbot_process import free_port, offline_fake_env

pytestmark = pytest.mark.integration

CHROMIUM = "/usr/bin/chromium"
DESKBOT = str(Path(sys.executable).parent / "deskbot")
QUESTION = "How do I reset my Nimbus Thermo?"
HTML_TITLE = 'Resetting the <img src=x onerror="window.__pwned=1"> Nimbus Thermo'
DOCUMENTS = [
    {
        "id": "reset-thermo",
        "title": HTML_TITLE,
        "text": "To reset your Nimbus Thermo, hold the power button for 10 seconds until the light blinks.",
        "source": "https://help.example.com/thermo/reset",
    },
    {
        "id": "thermo-light",
        "title": "The Nimbus Thermo light",
        "text": "The light of the Nimbus Thermo blinks while it resets and stays green once it is ready.",
        "source": "javascript:window.__pwned=3",
    },
]

if shutil.which(CHROMIUM) is None:
    pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium; .ci/run installs it)", allow_module_level=True)
playwright = pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")


@dataclass(frozen=True)
class Servers:
    deskbot_url: str
    page_url: str
    other_site_url: str  # the same page on an origin the widget key does not allow
    widget_key: str
    operator_key: str


def page_server(port: int, html: str) -> ThreadingHTTPServer:
    """The company's help page on its own origin, embedding the widget with one tag."""

    class Page(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path == "/favicon.ico":  # asked for by the browser, not by the widget
                self.send_response(204)
                self.end_headers()
                return
            body = html.encode()
            self.send_response(200 if self.path in {"/", "/help"} else 404)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Page)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Servers]:
    folder = tmp_path_factory.mktemp("widget-serve")
    env = offline_fake_env(folder / "cache", DESKBOT_ANSWER__MIN_SCORE="0.1")
    (folder / "help.jsonl").write_text("".join(json.dumps(document) + "\n" for document in DOCUMENTS))

    def deskbot(*args: str) -> str:
        command = [DESKBOT, *args]
        done = subprocess.run(command, env=env, cwd=folder, capture_output=True, text=True, timeout=120, check=False)
        assert done.returncode == 0, done.stderr
        return done.stdout.strip()

    deskbot("ingest", "help.jsonl", "--kb", "kb")
    page_port, other_port, deskbot_port = free_port(), free_port(), free_port()
    key = deskbot("keys", "create-widget", "help-site", "--origin", f"http://127.0.0.1:{page_port}")
    operator_key = deskbot("keys", "create-operator", "ada")
    deskbot_url = f"http://127.0.0.1:{deskbot_port}"
    html = (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'><title>Nimbus help centre</title></head>"
        "<body><h1>Nimbus help centre</h1><p>Browse the articles, or ask our assistant.</p>"
        f"<script src='{deskbot_url}/widget.js' data-key='{key}' data-title='Nimbus help' async></script>"
        "</body></html>"
    )
    page, other_site = page_server(page_port, html), page_server(other_port, html)
    process = subprocess.Popen(
        [DESKBOT, "serve", "--kb", "kb", "--host", "127.0.0.1", "--port", str(deskbot_port)],
        env=env,
        cwd=folder,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{deskbot_url}/readyz", timeout=5).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert process.poll() is None, "deskbot serve exited"
            assert time.monotonic() < deadline, "the server did not become ready"
            time.sleep(0.2)
        yield Servers(
            deskbot_url,
            f"http://127.0.0.1:{page_port}/help",
            f"http://127.0.0.1:{other_port}/help",
            key,
            operator_key,
        )
    finally:
        page.shutdown()
        other_site.shutdown()
        process.terminate()
        process.communicate(timeout=30)


@pytest.fixture
def browser() -> Iterator[Any]:
    with playwright.sync_playwright() as driver:
        launched = driver.chromium.launch(executable_path=CHROMIUM)
        yield launched
        launched.close()


def watch_errors(page: Any) -> list[str]:
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(str(error)))
    return errors


# Times, in the page, from the Enter key to the first characters of the answer on screen.
TIME_FIRST_CHARACTERS = """() => {
  const root = document.querySelector('#deskbot-widget').shadowRoot;
  const input = root.querySelector('input');
  const log = root.querySelector('.log');
  const before = log.querySelectorAll('.msg.bot').length;
  let pressed = null;
  input.addEventListener('keydown', (event) => { if (event.key === 'Enter') pressed = performance.now(); });
  const observer = new MutationObserver(() => {
    const answers = log.querySelectorAll('.msg.bot');
    const last = answers[answers.length - 1];
    if (pressed !== null && answers.length > before && last.textContent.trim()) {
      observer.disconnect();
      window.__deskbotFirstMs = performance.now() - pressed;
    }
  });
  observer.observe(log, {childList: true, subtree: true, characterData: true});
}"""


def test_a_customer_asks_sees_the_answer_stream_with_sources_and_asks_for_a_person(
    servers, browser, tmp_path, record_property
):
    page = browser.new_page(viewport={"width": 1100, "height": 760})
    errors = watch_errors(page)
    page.goto(servers.page_url)
    bubble = page.get_by_role("button", name="Open chat")
    bubble.click()
    question = page.get_by_role("textbox", name="Your question")
    assert question.evaluate("node => node === node.getRootNode().activeElement"), "opening focuses the input"
    question.fill(QUESTION)
    page.evaluate(TIME_FIRST_CHARACTERS)
    question.press("Enter")
    elapsed_ms = page.wait_for_function("() => window.__deskbotFirstMs", timeout=10_000).json_value()
    record_property("first_characters_ms", round(elapsed_ms, 1))
    assert elapsed_ms < 1000, f"first characters after {elapsed_ms:.0f} ms"

    answer = page.locator(".msg.bot").last
    sources = answer.locator("ol.sources li")
    sources.first.wait_for()
    assert "hold the power button" in answer.locator(".text").inner_text()
    link = sources.locator("a").first
    assert link.get_attribute("href") == "https://help.example.com/thermo/reset"
    assert link.inner_text() == HTML_TITLE, "HTML in a knowledge title is shown as text"
    assert sources.locator("a").count() == 1, "a javascript: source is not a link"
    assert page.evaluate("window.__pwned") is None

    answer.get_by_role("button", name="This answer helped").click()
    page.get_by_text("Thank").last.wait_for()
    shot = os.environ.get("WIDGET_SCREENSHOT")
    page.screenshot(path=shot or str(tmp_path / "widget.png"))

    question.fill("<b>bold</b><img src=x onerror='window.__pwned=4'>")
    question.press("Enter")
    page.locator(".msg.user").last.wait_for()
    assert page.locator(".msg.user").last.inner_text() == "<b>bold</b><img src=x onerror='window.__pwned=4'>"
    page.wait_for_function(
        "() => !document.querySelector('#deskbot-widget').shadowRoot.querySelector('.send').disabled"
    )
    assert page.evaluate("window.__pwned") is None

    page.reload()
    page.locator(".msg.user").first.wait_for()
    assert page.locator(".msg.user").first.inner_text() == QUESTION, "the conversation survives a page load"
    page.get_by_role("button", name="Talk to a person").click()
    page.get_by_text("I've asked a person from our support team").wait_for()

    page.keyboard.press("Escape")
    assert page.locator("#deskbot-panel").is_hidden()
    assert bubble.evaluate("node => node === node.getRootNode().activeElement"), "closing focuses the bubble"
    assert errors == []


def test_on_a_phone_sized_screen_the_panel_fills_it(servers, browser):
    page = browser.new_page(viewport={"width": 375, "height": 667}, is_mobile=True, has_touch=True)
    errors = watch_errors(page)
    page.goto(servers.page_url)
    page.get_by_role("button", name="Open chat").click()
    box = page.locator("#deskbot-panel").bounding_box()
    assert box is not None and (box["width"], box["height"]) == (375, 667)
    page.get_by_role("button", name="Close chat").last.click()
    assert page.locator("#deskbot-panel").is_hidden()
    assert errors == []


def test_the_widget_on_a_site_its_key_does_not_allow_gets_no_answer(servers, browser):
    page = browser.new_page()
    page.goto(servers.other_site_url)
    page.get_by_role("button", name="Open chat").click()
    question = page.get_by_role("textbox", name="Your question")
    question.fill(QUESTION)
    question.press("Enter")
    answer = page.locator(".msg.bot").last
    answer.get_by_text("not available").wait_for()
    assert "power button" not in answer.inner_text()


HTML_MESSAGE = "My <script>window.__pwned=6</script><img src=x onerror='window.__pwned=7'> thermostat is broken"
OPERATOR_REPLY = "Hi, this is Ada from support: I have sent you a replacement."


def test_an_operator_sees_the_handoff_in_the_console_replies_and_the_widget_shows_it(servers, browser, tmp_path):
    customer = browser.new_page(viewport={"width": 1100, "height": 760})
    customer_errors = watch_errors(customer)
    customer.goto(servers.page_url)
    customer.get_by_role("button", name="Open chat").click()
    question = customer.get_by_role("textbox", name="Your question")
    question.fill(QUESTION)
    question.press("Enter")
    customer.locator(".msg.bot ol.sources li").first.wait_for()
    question.fill(HTML_MESSAGE)
    question.press("Enter")
    customer.wait_for_function(
        "() => !document.querySelector('#deskbot-widget').shadowRoot.querySelector('.send').disabled"
    )
    customer.get_by_role("button", name="Talk to a person").click()
    customer.get_by_text("I've asked a person from our support team").wait_for()
    stored = customer.evaluate(f"localStorage.getItem('deskbot-widget:{servers.widget_key}')")
    conversation = "widget:help-site:" + json.loads(stored)["session"].split(".")[0]

    operator_context = browser.new_context(viewport={"width": 1280, "height": 820})
    console = operator_context.new_page()
    console_errors = watch_errors(console)
    console.goto(f"{servers.deskbot_url}/admin/login")
    console.get_by_label("Operator key").fill(servers.operator_key)
    console.get_by_role("button", name="Log in").click()
    console.wait_for_url(f"{servers.deskbot_url}/admin")
    assert console.locator("#operator").inner_text() == "ada"
    console.get_by_label("Handed off").check()
    console.get_by_role("button", name="Apply").click()
    entry = console.locator(f'#conversations button[data-id="{conversation}"]')
    entry.wait_for()
    assert "with a person" in entry.inner_text()
    entry.click()
    messages = console.locator("#messages li.message")
    messages.nth(2).wait_for()
    texts = [messages.nth(i).locator(".text").inner_text() for i in range(messages.count())]
    assert texts[0] == QUESTION and HTML_MESSAGE in texts, "HTML in a message is shown as text"
    answer = messages.nth(1)
    assert "score" in answer.locator(".head").inner_text() and "ms" in answer.locator(".head").inner_text()
    link = answer.locator("ol.sources a").first
    assert link.inner_text() == HTML_TITLE, "HTML in a knowledge title is shown as text"
    assert link.get_attribute("href") == "https://help.example.com/thermo/reset"
    assert console.evaluate("window.__pwned") is None and customer.evaluate("window.__pwned") is None
    assert console.locator("#thread-state").inner_text() == "with a person"
    shot = os.environ.get("CONSOLE_SCREENSHOT")
    console.screenshot(path=shot or str(tmp_path / "console.png"))

    console.get_by_label("Reply as a person").fill(OPERATOR_REPLY)
    console.get_by_role("button", name="Send reply").click()
    console.locator("#messages li.kind-human").wait_for()
    assert "Person: ada" in console.locator("#messages li.kind-human .head").inner_text()

    person = customer.locator(".msg.person")
    person.wait_for(timeout=15_000)  # the widget polls every few seconds while a person holds the conversation
    assert person.locator(".text").inner_text() == OPERATOR_REPLY
    assert person.locator(".who").inner_text() == "Support team"
    person_shot = os.environ.get("WIDGET_PERSON_SCREENSHOT")
    if person_shot:
        customer.screenshot(path=person_shot)
    customer.reload()
    customer.locator(".msg.person").wait_for()
    assert customer.locator(".msg.person .text").inner_text() == OPERATOR_REPLY, "kept across page loads"
    assert customer.evaluate("window.__pwned") is None
    assert customer_errors == [] and console_errors == []
    operator_context.close()
