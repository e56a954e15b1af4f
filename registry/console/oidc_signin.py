"""Single sign-on for the console through the municipality's identity
provider (OpenID Connect; the protocol and every check are in registry/oidc.py).

"Sign in with …" on the sign-in page goes to ``/signin/oidc/N``, which sends
the browser to provider N with a fresh state, and keeps that state in a
cookie of this browser: the provider's answer at ``/signin/oidc/callback`` is
taken only from the browser that started it (no sign-in forced on someone
else's browser). The cookie is SameSite=Lax because the answer arrives as a
top-level navigation from the provider's site; it holds only the state and
dies with the sign-in. Who the person is, and their office and roles, the
registry decides (registry/oidc.py), which also audits the sign-in and
every refusal (with the console's peer).
"""

from __future__ import annotations

import threading
import time

from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from registry.console.app import Console, Page, client_peer, local_path
from registry.console.sessions import COOKIE, same_secret
from registry.console.signin import _cookie_options, _signin_form
from registry.console.texts import N_
from registry.oidc import LOGIN_TIMEOUT, OidcError

STATE_COOKIE = "pbx_oidc"

_REFUSALS = {
    "OIDC_USER_UNKNOWN": N_("Your account at the identity provider is not linked to a user of"
                            " this console. Please ask an administrator to link it."),
    "OIDC_NO_ROLES": N_("Your account has no role in this console. Please ask an administrator."),
    "CREDENTIAL_REVOKED": N_("This account is blocked. Please ask an administrator."),
    "OTHER_OFFICE": N_("This sign-in is for another office's staff."),
    "OIDC_STATE_UNKNOWN": N_("The sign-in took too long or was already used. Please start again."),
}


class PendingSignins:
    """Where each started sign-in returns to, by state, for LOGIN_TIMEOUT seconds."""

    def __init__(self, clock=time.monotonic) -> None:
        self._clock = clock
        self._pending: dict[str, tuple[int, str, float]] = {}
        self._lock = threading.Lock()

    def add(self, state: str, provider: int, next_path: str) -> None:
        with self._lock:
            now = self._clock()
            self._pending = {s: p for s, p in self._pending.items() if p[2] > now}
            self._pending[state] = (provider, next_path, now + LOGIN_TIMEOUT)

    def take(self, state: str) -> tuple[int, str] | None:
        with self._lock:
            found = self._pending.pop(state, None)
        if found is None or found[2] <= self._clock():
            return None
        return found[0], found[1]


async def start(page: Page) -> Response:
    console = page.console
    try:
        index = int(page.request.path_params["provider"])
        provider = console.oidc[index]
    except (ValueError, IndexError):
        return _signin_form(page, 404, problem=page._("There is no such sign-in."))
    try:
        url, state = await run_in_threadpool(provider.authorization_url)  # reads the discovery
    except OidcError as error:
        return _signin_form(page, 502, problem=page._(
            "The identity provider did not answer: {message}", message=error.message))
    console.oidc_pending.add(state, index, local_path(page.request.query_params.get("next")))
    response = page.redirect(url)
    options = {**_cookie_options(page), "samesite": "lax"}
    response.set_cookie(STATE_COOKIE, state, max_age=int(LOGIN_TIMEOUT), **options)
    return response


async def callback(page: Page) -> Response:
    console = page.console
    _ = page._
    query = page.request.query_params
    state, code = query.get("state", ""), query.get("code", "")
    if not same_secret(state, page.request.cookies.get(STATE_COOKIE, "")):
        return _signin_form(page, 403, problem=_(
            "This sign-in was not started in this browser. Nothing was done; please start again."))
    pending = console.oidc_pending.take(state)
    if pending is None:
        return _signin_form(page, 400, problem=_(_REFUSALS["OIDC_STATE_UNKNOWN"]))
    if not code:
        return _signin_form(page, 400, problem=_(
            "The identity provider refused the sign-in ({error}). Please start again.",
            error=query.get("error", "") or "no code"))
    index, next_path = pending
    peer = client_peer(page.request)
    try:
        principal = await run_in_threadpool(
            lambda: console.oidc[index].complete(code, state, peer=peer))
    except OidcError as error:  # audited by registry/oidc.py
        return _signin_form(page, 401, problem=_(_REFUSALS.get(error.reason, N_(
            "The sign-in could not be checked. Please start again or ask an administrator."))))
    with console.db.transaction() as tx:
        tx.record_sign_in(principal.principal_id)  # for the users page
    console.sessions.revoke(page.request.cookies.get(COOKIE))  # no fixation of an old id
    # Not by password: an administrator's password still to replace does not hold
    # up a single sign-on (it is not used), and the API keeps refusing it.
    token, _session = console.sessions.create(principal.principal_id, principal.label)
    response = page.redirect(next_path)
    response.set_cookie(COOKIE, token, **_cookie_options(page))
    response.delete_cookie(STATE_COOKIE, path="/")
    return response


def register(console: Console) -> None:
    console.oidc_pending = PendingSignins()
    console.add("/signin/oidc/callback", callback, public=True)
    console.add("/signin/oidc/{provider}", start, public=True)
