"""Sign-in and sign-out with the registry's local user accounts, the language
switch and the start page.

The password is checked by the registry's own :class:`Authenticator` (scrypt,
constant-time comparison, throttling of guessed names), exactly as a gRPC
call with a user name and password is. Both outcomes are audited. A password
an administrator issued signs in too (the API refuses it), but only to the
page that replaces it with the user's own (registry/console/password.py).
Each sign-in is noted in the account's row (``last_sign_in_time``) for the
users page.
"""

from __future__ import annotations

import secrets
from urllib.parse import quote
from urllib.parse import urlsplit

from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from registry import permissions
from registry.console import texts
from registry.console.texts import N_
from registry.console.app import LANGUAGE_COOKIE, Console, Page, client_peer, local_path
from registry.console.sessions import COOKIE, PRE_CSRF_COOKIE, same_secret
from registry.identity import AuthError

SIGNIN_METHOD = "console:signin"


def _cookie_options(page: Page) -> dict:
    return {"httponly": True, "samesite": "strict", "secure": page.request.url.scheme == "https",
            "path": "/"}


def signin_messages(page: Page) -> list[str]:
    _ = page._
    query = page.request.query_params
    if page.values.get("idle") or query.get("idle"):
        minutes = round(page.console.sessions.idle_seconds / 60)
        return [_("You were signed out after {minutes} minutes without activity."
                  " Please sign in again.", minutes=minutes)]
    if query.get("signin"):
        return [_("Please sign in to continue.")]
    if query.get("out"):
        return [_("You are signed out.")]
    return []


def _signin_form(page: Page, status_code: int = 200, errors: dict | None = None,
                 problem: str = "") -> Response:
    token = secrets.token_urlsafe(32)
    response = page.render(
        "signin.html", status_code, errors=errors or {}, problem=problem,
        messages=[] if errors or problem else signin_messages(page),
        signin_csrf=token, user=page.field("user"),
        oidc=[(index, urlsplit(provider.config.issuer).hostname or provider.config.issuer)
              for index, provider in enumerate(page.console.oidc)],
        next=local_path(page.field("next") or page.request.query_params.get("next")),
    )
    response.set_cookie(PRE_CSRF_COOKIE, token, max_age=3600, **_cookie_options(page))
    return response


_REFUSAL_TEXTS = {
    permissions.TOO_MANY_FAILURES:
        N_("Too many wrong passwords for this user name. Try again in 15 minutes"
           " or ask an administrator."),
    permissions.CREDENTIAL_REVOKED: N_("This account is blocked. Please ask an administrator."),
}


async def signin(page: Page) -> Response:
    if page.request.method == "GET":
        if page.principal is not None:
            return page.redirect("/")
        return _signin_form(page)
    _ = page._
    if not same_secret(page.field("signin_csrf"), page.request.cookies.get(PRE_CSRF_COOKIE, "")):
        return _signin_form(page, 403, problem=_("The form was old or not sent from this console."
                                                  " Nothing was done. Please open the page again"
                                                  " and repeat your entry."))
    user, password = page.field("user"), page.form.get("password", "") if page.form else ""
    errors = {}
    if not user:
        errors["user"] = _("Please enter your user name.")
    if not password:
        errors["password"] = _("Please enter your password.")
    if errors:
        return _signin_form(page, 422, errors)
    console = page.console
    peer = client_peer(page.request)
    try:
        principal, row = await run_in_threadpool(  # scrypt blocks
            console.authenticator.verify_password, user, password)
    except AuthError as error:
        with console.db.transaction() as tx:
            tx.audit(error.who, "login.failed", outcome="denied", method=SIGNIN_METHOD,
                     reason=error.reason, peer=peer)
        problem = _(_REFUSAL_TEXTS.get(error.reason, N_("Wrong user name or password.")))
        return _signin_form(page, 401, problem=problem)
    must_change = bool(row["password_change_required"])
    with console.db.transaction() as tx:
        tx.audit(principal.label, "login", office_id=principal.office_id or "",
                 method=SIGNIN_METHOD, peer=peer, password_change_required=must_change)
        tx.record_sign_in(principal.principal_id)
    console.sessions.revoke(page.request.cookies.get(COOKIE))  # no fixation of an old id
    token, _session = console.sessions.create(principal.principal_id, principal.label,
                                              by_password=True)
    target = local_path(page.field("next"))
    if must_change:
        target = f"/password?next={quote(target)}"
    response = page.redirect(target)
    response.set_cookie(COOKIE, token, **_cookie_options(page))
    response.delete_cookie(PRE_CSRF_COOKIE, path="/")
    return response


async def signout(page: Page) -> Response:
    console = page.console
    console.sessions.revoke(page.request.cookies.get(COOKIE))
    with console.db.transaction() as tx:
        tx.audit(page.principal.label, "logout", office_id=page.principal.office_id or "",
                 method="console:signout", peer=client_peer(page.request))
    response = page.redirect("/signin?out=1")
    response.delete_cookie(COOKIE, path="/")
    return response


async def language(page: Page) -> Response:
    """Switches the language (a cookie; no data changes, so a plain link works)."""
    chosen = texts.language_of(page.request.query_params.get("lang"))
    response = page.redirect(local_path(page.request.query_params.get("next")))
    response.set_cookie(LANGUAGE_COOKIE, chosen, max_age=365 * 24 * 3600, httponly=True,
                        samesite="strict", secure=page.request.url.scheme == "https", path="/")
    return response


async def keepalive(page: Page) -> Response:
    """The idle warning's "stay signed in": reaching here restarted the idle clock."""
    return Response(status_code=204)


async def home(page: Page) -> Response:
    return page.render("home.html")


def register(console: Console) -> None:
    console.add("/signin", signin, methods=("GET", "POST"), public=True)
    console.add("/language", language, public=True)
    console.add("/signout", signout, methods=("POST",), before_password_change=True)
    console.add("/keepalive", keepalive, before_password_change=True)
    console.add("/", home)
