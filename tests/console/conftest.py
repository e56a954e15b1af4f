"""A real registry with its web console on loopback, accounts for each role,
and (for tests marked ``browser``) a real headless Chromium driven by Playwright.

``console`` starts the registry (tests/registry/conftest.py's start_registry:
SQLite, cheap scrypt for codes), creates the users below and serves
``build_console`` with registry/web.py's WebServer on a free port.
``console.client("clara")`` is an httpx client already signed in;
``form_fields(html)`` reads a form's hidden fields (csrf, request_id).
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from registry import identity
from registry.console import build_console
from registry.database import DEFAULT_OFFICE
from registry.permissions import Role
from registry.web import WebServer, build_app
from tests.registry.conftest import Registry, start_registry

PASSWORD = "correct horse battery"
USERS = {
    "clara": frozenset({Role.CLERK}),
    "sven": frozenset({Role.CLERK, Role.SUPERVISOR}),
    "tina": frozenset({Role.TECHNICIAN}),
    "adam": frozenset({Role.ADMIN}),  # the office's admin: users and roles
}
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]
_HIDDEN = re.compile(r'<input type="hidden" name="([a-z_]+)" value="([^"]*)"')


def form_fields(html: str) -> dict[str, str]:
    """The hidden fields of a page's forms (the last value of each name wins)."""
    return dict(_HIDDEN.findall(html))


@dataclass
class ConsoleUnderTest:
    registry: Registry
    web: WebServer
    clients: list[httpx.Client] = field(default_factory=list)

    @property
    def url(self) -> str:
        return self.web.url

    def anonymous(self) -> httpx.Client:
        client = httpx.Client(base_url=self.url, follow_redirects=False, timeout=30)
        self.clients.append(client)
        return client

    def signin(self, client: httpx.Client, user: str, password: str = PASSWORD) -> httpx.Response:
        fields = form_fields(client.get("/signin").text)
        return client.post("/signin", data={**fields, "user": user, "password": password})

    def client(self, user: str) -> httpx.Client:
        client = self.anonymous()
        response = self.signin(client, user)
        assert response.status_code == 303, response.text
        return client

    def audit(self, action: str) -> list:
        return self.registry.sql("SELECT * FROM audit_log WHERE action = ? ORDER BY seq", action)

    def close(self) -> None:
        for client in self.clients:
            client.close()
        self.web.stop()
        self.registry.close()


def start_console(tmp_path: Path, more_notifiers: tuple = (), **options) -> ConsoleUnderTest:
    """``more_notifiers``: beside the recording one (e.g. the messages notifier)."""
    registry = start_registry(tmp_path / "registry.sqlite3", tmp_path / "notifications",
                              more_notifiers=more_notifiers)
    with registry.server.db.transaction() as tx:
        for name, roles in USERS.items():
            identity.create_user(tx, name, PASSWORD, DEFAULT_OFFICE, roles)
    web = WebServer(build_app(build_console(registry.server, **options)), "127.0.0.1:0")
    web.start()
    return ConsoleUnderTest(registry, web)


@pytest.fixture
def console(tmp_path: Path) -> Iterator[ConsoleUnderTest]:
    running = start_console(tmp_path)
    yield running
    running.close()


@pytest.fixture(scope="module")
def chromium():
    """One headless Debian Chromium per test module (never a downloaded browser).

    Not per session: Playwright's sync API keeps an asyncio loop running in
    the main thread while it is open, and later tests that call asyncio.run()
    (tests/ops) would fail."""
    if not CHROMIUM.exists() or shutil.which("node") is None:
        message = "no /usr/bin/chromium: run tools/setup --tests (installs Debian's chromium)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def browser_page(chromium, console):
    """A fresh browser context (no cookies) on the console, German by default."""
    context = chromium.new_context(base_url=console.url, accept_downloads=True)
    page = context.new_page()
    yield page
    context.close()


AXE = (Path(__file__).resolve().parents[2] / ".venv" / "node" / "node_modules" / "axe-core"
       / "axe.min.js")
SERIOUS = {"serious", "critical"}


def axe_violations(page) -> list[dict]:
    """axe-core's serious and critical WCAG 2.1 A/AA violations on the open page.

    Injected through the DevTools protocol (page.evaluate), which the page's
    Content-Security-Policy does not govern, so the policy stays as in production.
    """
    if not AXE.exists():
        pytest.fail(f"no {AXE}: run tools/setup --tests (installs axe-core from npm)")
    page.evaluate(AXE.read_text())
    result = page.evaluate(
        "() => axe.run(document, {runOnly: {type: 'tag',"
        " values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']}})"
    )
    return [
        {"id": v["id"], "impact": v["impact"], "help": v["help"],
         "nodes": [n["target"] for n in v["nodes"]]}
        for v in result["violations"] if v["impact"] in SERIOUS
    ]


def browser_signin(page, user: str, password: str = PASSWORD) -> None:
    """Signs in through the form as a person would (German labels: the default)."""
    page.goto("/signin")
    page.get_by_label("Benutzername").fill(user)
    page.get_by_label("Passwort").fill(password)
    page.get_by_role("button", name="Anmelden").click()
    page.wait_for_url(lambda url: "/signin" not in url)
