"""One's own password: the page every signed-in user reaches from the header,
and the only page of a user whose password an administrator issued.

An initial password (a new user's, or after a reset; registry/identity.py)
is known to the admin who handed it over, so it is good for one thing: a
user who signs in with it gets only this page (registry/console/app.py
sends every other one here) until they chose their own. Single sign-on does
not use the password, so it is not held up; the API refuses such a password
with PASSWORD_CHANGE_REQUIRED in any case (identity.Authenticator).

The current password is checked by the console's Authenticator, so wrong
ones count towards the same throttle as at sign-in; each refusal of it and
each change are audited. The user's other console sessions end with the
change; this one stays. The form carries a request id (a second submit goes
where the first went) and the CSRF token of the session.
"""

from __future__ import annotations

from urllib.parse import quote

from starlette.responses import Response

from registry import identity, permissions
from registry.console.app import Console, Page, client_peer, local_path
from registry.console.sessions import COOKIE
from registry.console.texts import N_
from registry.console.users import run_once
from registry.identity import AuthError, UserRuleError

# identity.new_password_problems' codes (and the current password's), worded here.
PROBLEMS = {
    "CURRENT_MISSING": N_("Please enter your current password."),
    "PASSWORD_WRONG": N_("The current password is wrong."),
    permissions.TOO_MANY_FAILURES:
        N_("Too many wrong passwords for this user name. Try again in 15 minutes"
           " or ask an administrator."),
    "NEW_PASSWORD_MISSING": N_("Please enter a new password."),
    "PASSWORD_SHORT": N_("The new password needs at least {minimum} characters."),
    "PASSWORD_REUSED": N_("The new password must differ from the current one."),
    "PASSWORD_MISMATCH": N_("The two entries of the new password differ. Please type it"
                            " twice the same."),
    "STALE": N_("Your password was changed in the meantime (in another window or by an"
                " administrator). Nothing was done; please sign in again if asked."),
    "NO_USER": N_("This account cannot change its password here."),
}


def _text(page: Page, code: str) -> str:
    return page._(PROBLEMS[code], minimum=identity.MIN_PASSWORD_LENGTH)


def _secret(page: Page, name: str) -> str:
    """A password field as typed: not stripped, a space may be part of it."""
    value = page.form.get(name, "") if page.form is not None else ""
    return value if isinstance(value, str) else ""


async def password_page(page: Page, *, errors: dict | None = None, problem: str = "",
                        status_code: int = 200) -> Response:
    query = page.request.query_params
    next_path = local_path(page.field("next") or query.get("next"))
    return page.render(
        "password.html", status_code, errors=errors or {}, problem=problem,
        done=bool(query.get("done")) and not errors, next=next_path,
        minimum=identity.MIN_PASSWORD_LENGTH, request_id=page.new_request_id(),
        forced=page.values.get("must_change_password", False))


async def change_password(page: Page) -> Response:
    current = _secret(page, "current_password")
    new, again = _secret(page, "new_password"), _secret(page, "new_password_again")
    errors: dict[str, str] = {}
    if not current:
        errors["current_password"] = _text(page, "CURRENT_MISSING")
    for problem in identity.new_password_problems(current, new, again):
        errors.setdefault(problem.field, _text(page, problem.code))
    if errors:
        return await password_page(page, errors=errors, status_code=422)
    console, principal = page.console, page.principal
    peer = client_peer(page.request)
    next_path = local_path(page.field("next"))
    keep = page.request.cookies.get(COOKIE)

    def work() -> str:
        try:
            checked, row = console.authenticator.verify_password(principal.name, current)
        except AuthError as error:
            with console.db.transaction() as tx:
                tx.audit(principal.label, "user.password_change_refused", outcome="denied",
                         office_id=principal.office_id or "", target=principal.name,
                         reason=error.reason, peer=peer)
            code = error.reason if error.reason in PROBLEMS else "PASSWORD_WRONG"
            raise UserRuleError(code, error.message, "current_password") from None
        if checked.principal_id != principal.principal_id:
            raise UserRuleError("NO_USER", f"{principal.label} is not {checked.label}")
        with console.db.transaction() as tx:
            identity.change_own_password(tx, principal, current, new, again,
                                         row["secret_hash"])
        # Whoever else knew the old password is signed out; this browser stays.
        console.sessions.revoke_principal(principal.principal_id, keep=keep)
        return f"/password?done=1&next={quote(next_path)}"

    async def failed(errors, problem, status):
        return await password_page(page, errors=errors, problem=problem, status_code=status)

    return await run_once(page, work, failed, PROBLEMS)


async def own_password(page: Page) -> Response:
    return await (change_password(page) if page.request.method == "POST"
                  else password_page(page))


def register(console: Console) -> None:
    console.add("/password", own_password, methods=("GET", "POST"),
                before_password_change=True)
