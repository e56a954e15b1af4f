"""The console's frame: who is signed in, what a page needs, how it renders.

Every page is an ``async def handler(page: Page) -> Response`` registered
through :meth:`Console.page`, which before the handler runs

* finds the session (else: to the sign-in page, saying why),
* reloads the account (a revoked account is signed out at once),
* while the account still has a password an administrator issued and the
  session was opened with it, sends every page but the one to choose one's
  own password (registry/console/password.py) there,
* checks the page's permission with registry/permissions.py (a refusal is
  audited and shown as "not allowed"), and
* for a POST, checks the form's CSRF token (a stale or foreign form does
  nothing and says so).

Handlers call the application services through ``page.office`` (an
:class:`~registry.console.calls.OfficeCaller` for the signed-in principal),
so the OfficeServicer's rules and audit apply as for a gRPC call.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from registry import auth
from registry.console import texts
from registry.console.calls import OfficeCaller
from registry.console.letter import LetterSettings
from registry.console.texts import N_
from registry.console.sessions import (
    COOKIE, DEFAULT_IDLE_MINUTES, Session, SessionStore, same_secret,
)
from registry.identity import Authenticator, parse_roles
from registry.permissions import Permission, Principal, check_permission
from registry.reports import ReportConfig

PACKAGE = Path(__file__).resolve().parent
TEMPLATES = PACKAGE / "templates"
STATIC = PACKAGE / "static"
LANGUAGE_COOKIE = "pbx_lang"

# Served with every page: nothing from elsewhere, no framing, no caching of
# pages that show codes and PINs.
SECURITY_HEADERS = {
    "content-security-policy": (
        "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none';"
        " form-action 'self'; frame-ancestors 'none'"
    ),
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
    "cache-control": "no-store",
}

Handler = Callable[["Page"], Awaitable[Response]]


@dataclass(frozen=True)
class NavItem:
    path: str
    label: str  # a msgid, translated when shown
    needs: Permission | None = None
    description: str = ""  # a msgid: one line on the start page
    current: bool = False


def local_path(target: str | None, default: str = "/") -> str:
    """A redirect target from a form or query: only paths of this site."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    return target


def client_peer(request: Request) -> str:
    """Where a console request came from, as the audit log names it."""
    host = request.client.host if request.client else "unknown"
    return f"console:{host}"


def principal_from_row(row) -> Principal:
    return Principal(
        kind=row["kind"], name=row["name"], principal_id=row["principal_id"],
        office_id=row["office_id"], roles=parse_roles(row["roles"]), kiosk_id=row["kiosk_id"],
    )


@dataclass
class Page:
    """One request to one page, signed in (or the sign-in page itself)."""

    request: Request
    console: Console
    _: texts.Translator
    session: Session | None = None
    principal: Principal | None = None
    form: FormData | None = None
    values: dict = field(default_factory=dict)  # given to every template

    @property
    def language(self) -> str:
        return self._.language

    @property
    def office(self) -> OfficeCaller:
        assert self.principal is not None, "office calls need a signed-in page"
        return OfficeCaller(self.console.office, self.console.db, self.principal,
                            client_peer(self.request))

    def may(self, permission: Permission) -> bool:
        return self.principal is not None and check_permission(self.principal, permission).allowed

    @staticmethod
    def new_request_id() -> str:
        """For a form's hidden request_id: one per form shown, so a resubmit replays."""
        return uuid.uuid4().hex

    def role_names(self) -> str:
        return ", ".join(sorted(r.value for r in self.principal.roles)) if self.principal else ""

    def field(self, name: str) -> str:
        """A submitted form field, stripped ("" when missing)."""
        value = self.form.get(name, "") if self.form is not None else ""
        return value.strip() if isinstance(value, str) else ""

    def render(self, template: str, status_code: int = 200, **values) -> HTMLResponse:
        context = {
            "page": self, "_": self._, "lang": self.language, "ui_languages": texts.LANGUAGES,
            "principal": self.principal, "csrf": self.session.csrf if self.session else "",
            "path": self.request.url.path, "full_path": self._full_path(),
            "idle_seconds": int(self.console.sessions.idle_seconds),
            "new_request_id": self.new_request_id, "P": Permission,
            "open_alarm_count": self.open_alarm_count, "must_change_password": False,
            **self.values, **values,
        }
        html = self.console.templates.get_template(template).render(context)
        return HTMLResponse(html, status_code=status_code)

    def open_alarm_count(self) -> int:
        """For the banner on every page; only asked when the account may read alarms."""
        from registry.console.alarms import open_alarm_count  # the page module imports this one

        return open_alarm_count(self.console.db, self.principal.office_id)

    def _full_path(self) -> str:
        query = self.request.url.query
        return self.request.url.path + (f"?{query}" if query else "")

    def redirect(self, target: str) -> RedirectResponse:
        return RedirectResponse(target, status_code=303)


class Console:
    def __init__(self, registry_server, *, idle_minutes: float = DEFAULT_IDLE_MINUTES,
                 letter: LetterSettings | None = None, report_config: ReportConfig | None = None,
                 oidc=(), clock=time.monotonic) -> None:
        self.db = registry_server.db
        self.letter_settings = letter or LetterSettings()
        # Single sign-on providers (registry.oidc.OidcProvider), offered on the sign-in page.
        self.oidc = list(oidc)
        # The counter's opening hours and time zone for the reports page.
        self.report_config = report_config or ReportConfig()
        self.office = registry_server.office
        self.sessions = SessionStore(idle_minutes * 60, clock)
        # Its own failure counter per user name, like the gRPC gate's.
        self.authenticator = Authenticator(self.db)
        self.templates = Environment(
            loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(default=True),
            undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True,
        )
        self._routes: list[BaseRoute] = []
        self._navigation: list[NavItem] = [NavItem("/", N_("Start"))]

    # ------------------------------------------------------------ routing

    def add(self, path: str, handler: Handler, *, needs: Permission | None = None,
            methods: tuple[str, ...] = ("GET",), public: bool = False,
            before_password_change: bool = False) -> None:
        """Registers a page. ``needs``: the permission to see it (None: any signed-in user);
        ``public``: no sign-in (only the sign-in page and the language switch);
        ``before_password_change``: open to a user who must first choose their own
        password (that page itself, signing out); every other page sends them there."""
        self._routes.append(Route(path, self.page(handler, needs=needs, public=public,
                                                  before_password_change=before_password_change),
                                  methods=list(methods)))

    def nav(self, path: str, label: str, *, needs: Permission | None = None,
            description: str = "") -> None:
        """A main-navigation entry (and start-page task), shown to who has ``needs``."""
        self._navigation.append(NavItem(path, label, needs, description))

    def navigation(self, page: Page) -> list[NavItem]:
        here = page.request.url.path
        shown = [item for item in self._navigation if item.needs is None or page.may(item.needs)]
        # The most specific entry is the current one: /orders/new is not also /orders.
        matching = [item.path for item in shown
                    if here == item.path or (item.path != "/" and here.startswith(item.path + "/"))]
        current = max(matching, key=len, default=None)
        return [NavItem(item.path, item.label, item.needs, item.description,
                        current=item.path == current) for item in shown]

    def routes(self) -> list[BaseRoute]:
        return [*self._routes, Mount("/static", StaticFiles(directory=STATIC), name="static")]

    def page(self, handler: Handler, *, needs: Permission | None = None,
             public: bool = False,
             before_password_change: bool = False) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            response = await self._serve(request, handler, needs, public, before_password_change)
            for name, value in SECURITY_HEADERS.items():
                response.headers.setdefault(name, value)
            return response

        endpoint.__name__ = handler.__name__
        return endpoint

    def translator(self, request: Request) -> texts.Translator:
        return texts.Translator(texts.language_of(request.cookies.get(LANGUAGE_COOKIE)))

    async def _serve(self, request: Request, handler: Handler, needs: Permission | None,
                     public: bool, before_password_change: bool = False) -> Response:
        page = Page(request, self, self.translator(request))
        if request.method == "POST":
            page.form = await request.form()
        session, idle = self.sessions.lookup(request.cookies.get(COOKIE))
        if idle is not None:
            self._audit(idle.user, "console.session_expired", request)
        if session is not None:
            with self.db.transaction() as tx:
                row = tx.get_principal(session.principal_id)
            if row is None or row["revoke_time"] is not None:
                self.sessions.revoke_principal(session.principal_id)
                self._audit(session.user, "console.session_revoked", request)
                session = None
            else:
                page.session, page.principal = session, principal_from_row(row)
                # Read each time: a change in another session ends the demand here too.
                page.values["must_change_password"] = (
                    session.by_password and bool(row["password_change_required"]))
        if public:
            page.values["idle"] = idle is not None
            return await handler(page)
        if page.principal is None:
            reason = "idle" if idle is not None else "signin"
            return page.redirect(f"/signin?{reason}=1&next={quote(page._full_path())}")
        if page.values["must_change_password"] and not before_password_change:
            return page.redirect(f"/password?next={quote(page._full_path())}")
        if needs is not None and not page.may(needs):
            decision = check_permission(page.principal, needs)
            auth.audit_denial(self.db, page.principal.label, f"console:{request.url.path}",
                              decision.reason, decision.message, client_peer(request),
                              office_id=page.principal.office_id or "")
            return page.render("refused.html", 403, right=needs.value)
        if request.method == "POST" and not same_secret(page.field("csrf"), page.session.csrf):
            self._audit(page.principal.label, "console.form_refused", request, outcome="denied",
                        reason="CSRF_TOKEN")
            return page.render("stale.html", 403)
        return await handler(page)

    def _audit(self, actor: str, action: str, request: Request, outcome: str = "ok",
               **detail) -> None:
        with self.db.transaction() as tx:
            tx.audit(actor, action, outcome=outcome, peer=client_peer(request), **detail)
