"""Users and roles (admins): who may sign in to the console and the API, with which roles.

Every change goes through registry/identity.py's user administration, the
rules `kiosk-registry user ...` applies too: an office's admin manages only
their office's users and grants no role above their own, only the operator's
admins (no office) create admins for all offices, and nobody takes their own
last admin right. Those functions also write the audit entries.

A new user gets a one-time initial password, made by the registry and shown
once to the admin (held in the admin's session until that page is shown,
never stored in clear); a reset does the same. Deactivating a user or
resetting their password ends their open console sessions at once.

Forms carry a request id (a second submit of the same form does nothing and
shows the outcome of the first) and the user's state as the form showed it
(a change to a user that someone changed meanwhile is refused).
"""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from registry import auth, identity, permissions
from registry.console import history
from registry.console.app import Console, Page, client_peer
from registry.console.texts import N_
from registry.identity import UserRuleError
from registry.permissions import Permission, Role

NEEDS = Permission.USERS_MANAGE
DONE = "users_done"  # session.held: request id -> where its outcome is shown (None: running)
ROLE_LABELS = {
    Role.CLERK: N_("Clerk"), Role.SUPERVISOR: N_("Supervisor"), Role.TECHNICIAN: N_("Technician"),
    Role.AUDITOR: N_("Auditor"), Role.INTEGRATION: N_("Office software"),
    Role.ADMIN: N_("Administrator"),
}
# identity.UserRuleError codes, worded for the console.
PROBLEMS = {
    "NAME_MISSING": N_("Please enter a user name."),
    "NAME_INVALID": N_("A user name has 1 to 64 letters, digits, '.', '_', '-' or '@'."),
    "NAME_TAKEN": N_("This user name is taken. Please choose another one."),
    "OFFICE_UNKNOWN": N_("There is no such office."),
    "ROLES_MISSING": N_("Please choose at least one role."),
    "NO_OFFICE": N_("Only administrators (and supervisors beside it) may be for all offices."
                    " Please choose an office."),
    "OPERATOR_ONLY": N_("Only the operator's administrators may create users for all offices."),
    "ROLE_ABOVE_OWN": N_("You may not grant or take a role above your own."),
    permissions.ROLE_MISSING: N_("Your account lacks the right for this."),
    permissions.OTHER_OFFICE: N_("You manage only the users of your office."),
    "LAST_ADMIN": N_("You are the last administrator here and cannot remove your own"
                     " administrator right. Make another user an administrator first."),
    "STALE": N_("This user was changed in the meantime. Nothing was done; the page shows the"
                " current state. Please check and repeat your change."),
    "NO_USER": N_("There is no such user."),
    "ALREADY": N_("This was done already."),
    "NOT_LINKED": N_("This sign-in is not linked to this user."),
    "PASSWORD_SHORT": N_("The password is too short."),
}
STATUS = {"STALE": 409, "ALREADY": 409, "NO_USER": 404}  # else 422, or 403 for DENIALS
# Refusals of a right (not of a value): audited like any refused call.
DENIALS = {"OPERATOR_ONLY", "ROLE_ABOVE_OWN", permissions.ROLE_MISSING, permissions.OTHER_OFFICE,
           "LAST_ADMIN"}


NOTICES = {
    "deactivated": N_("The user was deactivated and signed out everywhere."),
    "reactivated": N_("The user can sign in again."),
    "roles": N_("The roles were changed."),
    "unlinked": N_("The single sign-on link was removed."),
}


def _notice(page: Page) -> str:
    done = page.request.query_params.get("done", "")
    return page._(NOTICES[done]) if done in NOTICES else ""


def grantable_roles(actor: permissions.Principal) -> list[Role]:
    """The roles the form offers: those the rules let ``actor`` grant."""
    return [role for role in ROLE_LABELS if identity.ROLE_RANK[role] <= identity.rank(actor)]


def _explain(page: Page, error: UserRuleError, errors: dict[str, str],
             problems: dict[str, str] = PROBLEMS) -> str:
    """Puts a refusal next to its field (worded by ``problems``, per code); returns it
    for the page otherwise."""
    if error.code in DENIALS:
        auth.audit_denial(page.console.db, page.principal.label, f"console:{page.request.url.path}",
                          error.code, error.message, client_peer(page.request),
                          office_id=page.principal.office_id or "")
    text = page._(problems.get(error.code, N_("The registry could not do this: {message}")),
                  message=error.message, minimum=identity.MIN_PASSWORD_LENGTH)
    if error.field:
        errors[error.field] = text
        return ""
    return text


def _roles(page: Page, errors: dict[str, str]) -> frozenset[Role]:
    chosen = page.form.getlist("roles") if page.form is not None else []
    try:
        return frozenset(Role(value) for value in chosen)
    except ValueError:
        errors["roles"] = page._("Please choose roles from the list.")
        return frozenset()


def _view(user: identity.UserView, page: Page) -> dict:
    _ = page._
    return {
        "user": user,
        "roles": ", ".join(_(ROLE_LABELS[role])
                           for role in sorted(user.roles, key=list(ROLE_LABELS).index)),
        "office": user.office_id or _("all offices"),
        "last_signin": history.local_time(user.last_signin, page.language) or _("not known"),
    }


async def _users(page: Page) -> list[identity.UserView]:
    def read():
        with page.console.db.transaction() as tx:
            return identity.list_users(tx, page.principal)
    return await run_in_threadpool(read)


def _offices(page: Page) -> list[tuple[str, str]]:
    """The offices an admin may put a user in: their own, or (the operator) all."""
    if page.principal.office_id is not None:
        return [(page.principal.office_id, page.principal.office_id)]
    with page.console.db.transaction() as tx:
        offices = [(row["office_id"], row["office_id"]) for row in tx.list_offices()]
    return [*offices, ("", page._("All offices (operator)"))]


def _form_values(page: Page, errors: dict) -> dict:
    return {"errors": errors, "request_id": page.new_request_id(),
            "role_options": [(role.value, page._(ROLE_LABELS[role]))
                             for role in grantable_roles(page.principal)]}


async def users_page(page: Page, *, errors: dict | None = None, problem: str = "",
                     status_code: int = 200) -> Response:
    users = await _users(page)
    return page.render(
        "users.html", status_code, users=[_view(user, page) for user in users],
        problem=problem, notice=_notice(page),
        offices=_offices(page),
        values={"name": page.field("name"), "office": page.field("office"),
                "roles": page.form.getlist("roles") if page.form is not None else []},
        **_form_values(page, errors or {}))


async def user_page(page: Page, *, errors: dict | None = None, problem: str = "",
                    status_code: int = 200) -> Response:
    name = page.request.path_params["name"]
    user = next((u for u in await _users(page) if u.name == name), None)
    if user is None:
        # Another office's user is "no such user" here; a refused change says why.
        return page.render("user.html", status_code if status_code >= 400 else 404,
                           found=None, name=name, notice="",
                           problem=problem or page._(PROBLEMS["NO_USER"]),
                           **_form_values(page, {}))
    return page.render(
        "user.html", status_code, found=_view(user, page), name=name, problem=problem,
        notice=_notice(page),
        **_form_values(page, errors or {}))


async def run_once(page: Page, work, on_failure, problems: dict[str, str] = PROBLEMS) -> Response:
    """Runs ``work()`` (in a thread; it returns where to go) once per request id.

    A second submit of the same form goes where the first went, or, while the
    first still runs, to the page it came from, without doing anything again.
    A refusal is shown by ``on_failure(errors, problem)``.
    """
    done = page.session.held.setdefault(DONE, {})
    request_id = page.field("request_id")
    if request_id and request_id in done:
        return page.redirect(done[request_id] or page.request.url.path.rsplit("/", 1)[0])
    if request_id:
        done[request_id] = None
    try:
        target = await run_in_threadpool(work)
    except UserRuleError as error:
        done.pop(request_id, None)
        errors: dict[str, str] = {}
        problem = _explain(page, error, errors, problems)
        status = 403 if error.code in DENIALS else STATUS.get(error.code, 422)
        return await on_failure(errors, problem, status)
    if request_id:
        done[request_id] = target
    return page.redirect(target)


def _hold_password(page: Page, name: str, password: str, why: str) -> str:
    page.session.held[("user-password", name)] = (password, why)
    return f"/users/{name}/password"


async def add_user(page: Page) -> Response:
    errors: dict[str, str] = {}
    name, roles = page.field("name"), _roles(page, errors)
    office = page.field("office") or None
    for check in (lambda: identity.check_user_name(name),
                  lambda: identity.check_roles_given(roles)):
        try:  # every field's problem at once; add_user checks them again
            check()
        except UserRuleError as error:
            errors.setdefault(error.field, page._(PROBLEMS[error.code]))
    if errors:
        return await users_page(page, errors=errors, status_code=422)
    db, actor = page.console.db, page.principal

    def work() -> str:
        with db.transaction() as tx:
            _id, password = identity.add_user(tx, actor, name, office, roles)
        return _hold_password(page, name, password, "created")

    async def failed(errors, problem, status):
        return await users_page(page, errors=errors, problem=problem, status_code=status)

    return await run_once(page, work, failed)


async def shown_password(page: Page) -> Response:
    """The one page that shows a new password; it is forgotten once shown."""
    name = page.request.path_params["name"]
    held = page.session.held.pop(("user-password", name), None)
    password, why = held if held is not None else ("", "")
    return page.render("user_password.html", name=name, password=password, why=why)


def _change(change):
    """A POST on one user's page. ``change(page, errors)`` reads the form (noting bad
    fields in ``errors``) and returns ``run(tx, name, seen)``, which makes the change
    in the transaction and returns where to go."""

    async def handler(page: Page) -> Response:
        name = page.request.path_params["name"]
        seen = page.field("seen") or None
        errors: dict[str, str] = {}
        prepared = change(page, errors)
        if errors:
            return await user_page(page, errors=errors, status_code=422)

        def work() -> str:
            with page.console.db.transaction() as tx:
                return prepared(tx, name, seen)

        async def failed(errors, problem, status):
            return await user_page(page, errors=errors, problem=problem, status_code=status)

        return await run_once(page, work, failed)

    handler.__name__ = change.__name__
    return handler


def _end_sessions(page: Page, principal_id: str) -> None:
    if principal_id != page.principal.principal_id:  # an admin resetting their own stays in
        page.console.sessions.revoke_principal(principal_id)


@_change
def change_roles(page: Page, errors: dict):
    roles = _roles(page, errors)
    return lambda tx, name, seen: (identity.change_roles(tx, page.principal, name, roles, seen)
                                   or f"/users/{name}?done=roles")


@_change
def deactivate(page: Page, errors: dict):
    def run(tx, name, seen):
        page.console.sessions.revoke_principal(
            identity.deactivate_user(tx, page.principal, name, seen))
        return f"/users/{name}?done=deactivated"
    return run


@_change
def reactivate(page: Page, errors: dict):
    return lambda tx, name, seen: (identity.reactivate_user(tx, page.principal, name, seen)
                                   or f"/users/{name}?done=reactivated")


@_change
def reset_password(page: Page, errors: dict):
    def run(tx, name, seen):
        principal_id, password = identity.reset_password(tx, page.principal, name, seen=seen)
        _end_sessions(page, principal_id)
        return _hold_password(page, name, password, "reset")
    return run


@_change
def unlink(page: Page, errors: dict):
    issuer, subject = page.field("issuer"), page.field("subject")
    return lambda tx, name, seen: (
        identity.unlink_oidc(tx, page.principal, name, issuer, subject, seen)
        or f"/users/{name}?done=unlinked")


def register(console: Console) -> None:
    console.add("/users", users_page, needs=NEEDS)
    console.add("/users/add", add_user, needs=NEEDS, methods=("POST",))
    console.add("/users/{name}", user_page, needs=NEEDS)
    console.add("/users/{name}/password", shown_password, needs=NEEDS)
    for action, handler in (("roles", change_roles), ("deactivate", deactivate),
                            ("reactivate", reactivate), ("reset-password", reset_password),
                            ("unlink", unlink)):
        console.add(f"/users/{{name}}/{action}", handler, needs=NEEDS, methods=("POST",))
    console.nav("/users", N_("Users and roles"), needs=NEEDS,
                description=N_("Who may sign in: add users, change roles, deactivate, reset"
                               " passwords."))
