"""`kiosk-registry` commands for the registry's own machine: accounts, keys,
offices, kiosk enrolment, the audit log and data retention.

They open the registry database directly (``--db``, the same file `serve`
uses): whoever may read that file administers the registry, as with any
local database. Everything they change is written to the audit log with the
operating-system user as the actor.
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
from datetime import datetime
from pathlib import Path

from common.auth import KIOSK_CREDENTIAL_FILE, write_secret_file
from registry import identity
from common.audit_chain import VerifyResult, kiosk_chain_key, verify_chain
from registry.database import DEFAULT_OFFICE, RegistryDatabase
from registry.retention import kiosk_anchor_problem


class AdminError(Exception):
    pass


def _operator():
    """The operating-system user running this, with every right (identity.local_operator)."""
    try:
        name = getpass.getuser()
    except Exception:  # no user name (e.g. a container without passwd entry)
        name = f"uid{os.getuid()}"
    return identity.local_operator(name)


def _actor() -> str:
    return _operator().label


def _open(args: argparse.Namespace) -> RegistryDatabase:
    from registry.storage import StorageError, locate

    try:  # storage: a path, sqlite:///PATH or postgresql://... (see docs/storage.md)
        path = locate(args.db).path
        if path is not None and not path.exists():
            raise AdminError(f"no registry database at {path}: pass --db (the file `serve` uses)")
        return RegistryDatabase(args.db)
    except StorageError as error:
        raise AdminError(str(error)) from None


def _roles(text: str):
    try:
        return identity.parse_roles(text)
    except ValueError as error:
        raise AdminError(str(error)) from None


def _office(tx, office_id: str | None) -> str | None:
    if office_id is not None and tx.get_office(office_id) is None:
        raise AdminError(f"no office {office_id}: add it with `kiosk-registry office add`")
    return office_id


def _password() -> str:
    env = os.environ.get("PICKUPBOX_NEW_PASSWORD")
    if env:
        return env
    if not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\n")
    first = getpass.getpass("Password: ")
    if getpass.getpass("Again: ") != first:
        raise AdminError("the passwords differ")
    return first


# An operator's password is known to the operator: the user replaces it at the first
# console sign-in (and the API refuses it until then) unless the operator says --final.
FIRST_SIGNIN_NOTE = ("the user must choose their own password at the first console sign-in;"
                     " until then the API refuses this password (PASSWORD_CHANGE_REQUIRED)")


def user_add(args: argparse.Namespace) -> int:
    db = _open(args)
    try:
        roles = _roles(args.roles)
        password = _password()
        with db.transaction() as tx:
            try:
                principal_id, _password_set = identity.add_user(
                    tx, _operator(), args.name, args.office, roles, password, final=args.final)
            except ValueError as error:
                raise AdminError(str(error)) from None
    finally:
        db.close()
    print(f"user {args.name} created ({principal_id})")
    if not args.final:
        print(FIRST_SIGNIN_NOTE)
    return 0


def user_link(args: argparse.Namespace) -> int:
    """Lets a person sign in through OpenID Connect as this user (registry/oidc.py)."""
    db = _open(args)
    change = identity.unlink_oidc if args.unlink else identity.link_oidc
    try:
        with db.transaction() as tx:
            try:
                change(tx, _operator(), args.name, args.issuer, args.subject)
            except identity.UserRuleError as error:
                raise AdminError(str(error)) from None
    finally:
        db.close()
    done = "no longer signs in" if args.unlink else "signs in"
    print(f"{args.subject} at {args.issuer} {done} as {args.name}")
    return 0


def _user_change(args: argparse.Namespace, change) -> None:
    """Runs ``change(tx, operator)`` (one of identity's user changes) under its rules."""
    db = _open(args)
    try:
        with db.transaction() as tx:
            try:
                change(tx, _operator())
            except identity.UserRuleError as error:
                raise AdminError(str(error)) from None
    finally:
        db.close()


def user_roles(args: argparse.Namespace) -> int:
    roles = _roles(args.roles)
    _user_change(args, lambda tx, operator: identity.change_roles(tx, operator, args.name, roles))
    print(f"user {args.name} now has the roles {identity.role_text(roles)}")
    return 0


def user_reactivate(args: argparse.Namespace) -> int:
    _user_change(args, lambda tx, operator: identity.reactivate_user(tx, operator, args.name))
    print(f"user {args.name} may sign in again")
    return 0


def user_password(args: argparse.Namespace) -> int:
    """A new password: the one given (stdin, prompt, PICKUPBOX_NEW_PASSWORD) or, with
    --generate, a one-time one printed once (the console's reset does the same). The
    user must replace it at the first console sign-in, unless --final."""
    password = None if args.generate else _password()
    made: list[str] = []
    _user_change(args, lambda tx, operator: made.append(
        identity.reset_password(tx, operator, args.name, password, final=args.final)[1]))
    if args.generate:
        print(made[0])
    else:
        print(f"password of {args.name} changed")
    if not args.final:
        print(FIRST_SIGNIN_NOTE, file=sys.stderr if args.generate else sys.stdout)
    return 0


def _principal_rows(db: RegistryDatabase, kind: str) -> list[dict]:
    with db.transaction() as tx:
        rows = [
            {key: row[key] for key in ("principal_id", "name", "office_id", "roles",
                                       "create_time", "revoke_time")}
            for row in tx.list_principals(kind)
        ]
        if kind == "client_cert":
            for row in rows:
                row["certificate_name"] = tx.certificate_name_of(row["principal_id"])
    return rows


def principal_list(args: argparse.Namespace) -> int:
    db = _open(args)
    try:
        rows = _principal_rows(db, args.kind)
    finally:
        db.close()
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    for row in rows:
        state = f"revoked {row['revoke_time']}" if row["revoke_time"] else "active"
        print(f"{row['principal_id']}  {row['name']:<20} {row['office_id'] or '(all offices)':<14}"
              f" {row['roles']:<30} {state}")
    return 0


def principal_revoke(args: argparse.Namespace) -> int:
    db = _open(args)
    try:
        with db.transaction() as tx:
            row = tx.get_principal(args.id)
            if row is None and args.kind == "user":
                row = tx.user_by_name(args.id)
            if row is None or row["kind"] != args.kind:
                raise AdminError(f"no {args.kind} {args.id}: see `kiosk-registry {args.area} list`")
            if args.kind == "user":  # the rules of user administration (e.g. no lock-out)
                try:
                    identity.deactivate_user(tx, _operator(), row["name"])
                except identity.UserRuleError as error:
                    raise AdminError(str(error)) from None
            elif not tx.revoke_principal(row["principal_id"]):
                raise AdminError(f"{args.id} is already revoked")
            else:
                tx.audit(_actor(), f"{args.kind}.revoked", office_id=row["office_id"] or "",
                         target=row["name"])
    finally:
        db.close()
    print(f"{args.kind} {args.id} revoked")
    return 0


def _expiry(days: float | None) -> datetime | None:
    if days is None:
        return None
    from datetime import timedelta, timezone

    if days <= 0:
        raise AdminError("--expires-days must be more than 0")
    return datetime.now(timezone.utc) + timedelta(days=days)


def cert_add(args: argparse.Namespace) -> int:
    """Binds office software's client certificate (its CN or a SAN) to a principal."""
    db = _open(args)
    try:
        roles = _roles(args.roles)
        with db.transaction() as tx:
            office = _office(tx, args.office)
            try:
                principal_id = identity.bind_client_certificate(
                    tx, args.name, args.certificate_name, office, roles,
                    _expiry(args.expires_days))
            except ValueError as error:
                raise AdminError(str(error)) from None
            tx.audit(_actor(), "client_cert.created", office_id=office or "", target=args.name,
                     roles=args.roles, certificate_name=args.certificate_name)
    finally:
        db.close()
    print(f"client certificate {args.certificate_name!r} bound to {args.name} ({principal_id});"
          " it is accepted over mTLS when the registry's --tls-client-ca signed it")
    return 0


def apikey_create(args: argparse.Namespace) -> int:
    db = _open(args)
    try:
        roles = _roles(args.roles)
        with db.transaction() as tx:
            office = _office(tx, args.office)
            expires = _expiry(args.expires_days)
            try:
                token = identity.create_api_key(tx, args.name, office, roles, expires)
            except ValueError as error:
                raise AdminError(str(error)) from None
            tx.audit(_actor(), "api_key.created", office_id=office or "", target=args.name,
                     roles=args.roles)
    finally:
        db.close()
    if args.output:
        write_secret_file(Path(args.output), token)
        print(f"API key {args.name} written to {args.output} (mode 0600)")
    else:
        print(token)
    return 0


def office_add(args: argparse.Namespace) -> int:
    db = _open(args)
    try:
        with db.transaction() as tx:
            if tx.get_office(args.office_id) is not None:
                raise AdminError(f"office {args.office_id} exists")
            tx.add_office(args.office_id, args.name or "")
            tx.audit(_actor(), "office.created", office_id=args.office_id, target=args.office_id)
    finally:
        db.close()
    print(f"office {args.office_id} added")
    return 0


def office_list(args: argparse.Namespace) -> int:
    db = _open(args)
    try:
        with db.transaction() as tx:
            rows = [dict(r) for r in tx.list_offices()]
    finally:
        db.close()
    for row in rows:
        print(f"{row['office_id']:<20} {row['name']}")
    return 0


def kiosk_enrol(args: argparse.Namespace) -> int:
    """Binds a kiosk id to an office and gives it a credential (or a certificate name)."""
    db = _open(args)
    try:
        with db.transaction() as tx:
            office = _office(tx, args.office) or DEFAULT_OFFICE
            current = tx.kiosk_office(args.kiosk_id)
            if current is not None and current != office:
                raise AdminError(f"kiosk {args.kiosk_id} is enrolled in office {current}")
            taken = (tx.certificate_name_taken(args.certificate_name)
                     if args.certificate_name else None)
            if taken is not None and not taken.startswith("kiosk "):
                raise AdminError(f"the certificate name {args.certificate_name!r} already belongs"
                                 f" to {taken}; a certificate identifies exactly one caller")
            tx.enrol_kiosk(args.kiosk_id, office, args.certificate_name)
            token = identity.create_kiosk_credential(tx, args.kiosk_id)
            tx.audit(_actor(), "kiosk.enrolled", office_id=office, target=args.kiosk_id,
                     certificate_name=args.certificate_name or "")
    finally:
        db.close()
    if args.certificate_name:
        print(f"kiosk {args.kiosk_id} enrolled in office {office}; its client certificate"
              f" must carry the name {args.certificate_name} (CN or SAN)")
    if args.output:
        out = Path(args.output)
        if out.is_dir():
            out = out / KIOSK_CREDENTIAL_FILE
        write_secret_file(out, token)
        print(f"kiosk credential written to {out} (mode 0600): copy it to the kiosk's data dir"
              f" as {KIOSK_CREDENTIAL_FILE}")
    elif not args.certificate_name:
        print(token)
    return 0


def audit_verify(args: argparse.Namespace) -> int:
    """The registry's own chain, or (--kiosk) the chain a kiosk reported."""
    db = _open(args)
    try:
        with db.transaction() as tx:
            if args.kiosk:
                if tx.get_kiosk(args.kiosk) is None:
                    raise AdminError(f"no kiosk {args.kiosk!r}; `kiosk-registry kiosk list`"
                                     " shows the registered ones")
                entries = tx.kiosk_audit_entries(args.kiosk)
                checkpoints = tx.kiosk_audit_checkpoints(args.kiosk)
                key = kiosk_chain_key(db.audit_key, args.kiosk)
                anchor = tx.kiosk_audit_anchor(args.kiosk)
                purges = tx.kiosk_audit_purges(args.kiosk)
            else:
                entries, checkpoints = tx.audit_entries(), tx.audit_checkpoints()
                key, anchor, purges = db.audit_key, tx.audit_anchor(), []
        result = verify_chain(entries, checkpoints, key, anchor)
        problem = kiosk_anchor_problem(anchor.seq if anchor else 0, purges)
        if result.ok and problem:
            result = VerifyResult(False, result.entries, (anchor.seq if anchor else 0) + 1,
                                  problem)
    finally:
        db.close()
    which = f"kiosk {args.kiosk}'s audit log" if args.kiosk else "audit log"
    if result.ok:
        since = f" (entries up to {anchor.seq} purged, anchored)" if anchor else ""
        print(f"{which} intact: {result.entries} entries, {len(checkpoints)} checkpoints{since}")
        return 0
    print(f"{which} BROKEN at entry {result.broken_seq}: {result.problem}", file=sys.stderr)
    return 3


def _moment(text: str | None) -> str | None:
    if text is None:
        return None
    try:
        return datetime.fromisoformat(text).isoformat()
    except ValueError:
        raise AdminError(f"{text!r} is not a date/time like 2026-12-01 or 2026-12-01T08:00+01:00")


def audit_export(args: argparse.Namespace) -> int:
    """What a data-protection officer asks for, as JSON lines."""
    since, until = _moment(args.since), _moment(args.until)
    db = _open(args)
    try:
        with db.transaction() as tx:
            entries = tx.audit_entries()
    finally:
        db.close()
    out = sys.stdout
    for entry in entries:
        if args.order and entry.target != args.order:
            continue
        if args.staff and not (entry.target == args.staff
                               or _involves_staff(entry.detail, args.staff)):
            continue
        if args.actor and entry.actor != args.actor:
            continue
        if since and entry.time < since or until and entry.time > until:
            continue
        out.write(json.dumps(entry.__dict__, ensure_ascii=False) + "\n")
    return 0


def _involves_staff(detail: str, staff_id: str) -> bool:
    try:
        parsed = json.loads(detail)
    except ValueError:
        return False
    return staff_id in (parsed.get("staff") or []) or parsed.get("staff_id") == staff_id


def retention_policy(args: argparse.Namespace):
    from datetime import timedelta

    from registry.retention import RetentionPolicy

    if args.contact_grace_days < 0 or args.record_days < 0:
        raise AdminError("--contact-grace-days and --record-days must be 0 or more")
    if args.audit_days is not None and args.audit_days <= 0:
        raise AdminError("--audit-days must be more than 0 (leave it out to keep the audit log)")
    return RetentionPolicy(contact_grace=timedelta(days=args.contact_grace_days),
                           record_days=args.record_days, audit_days=args.audit_days)


def add_retention_options(p: argparse.ArgumentParser) -> None:
    from registry.retention import DEFAULT_RECORD_DAYS

    p.add_argument("--contact-grace-days", type=float, default=0.0, metavar="DAYS",
                   help="keep a citizen's contact this long after the order ended (default 0)")
    p.add_argument("--record-days", type=int, default=DEFAULT_RECORD_DAYS, metavar="DAYS",
                   help=f"keep ended orders this long, then only counts (default"
                        f" {DEFAULT_RECORD_DAYS})")
    p.add_argument("--audit-days", type=int, default=None, metavar="DAYS",
                   help="delete audit entries older than DAYS, the registry's and its copies"
                        " of the kiosks', keeping the rest verifiable through a signed anchor"
                        " (default: keep them all)")


def purge_now(args: argparse.Namespace) -> int:
    from registry.notifier import DirectoryNotifier
    from registry.retention import purge

    policy = retention_policy(args)
    db = _open(args)
    try:
        report = purge(db, DirectoryNotifier(args.notify_dir), policy)
    finally:
        db.close()
    print(f"{report.contacts_wiped} contacts wiped, {report.orders_deleted} orders deleted,"
          f" {report.notice_files_removed} notices removed, {report.audit_entries_purged}"
          f" audit entries purged, {report.kiosk_audit_entries_purged} of the kiosks'"
          " audit entries purged")
    return 0


def run(handler, args: argparse.Namespace) -> int:
    """A local command outside `kiosk-registry`'s main (python -m registry.messages)."""
    from registry.storage import StorageError

    try:
        return handler(args)
    except (AdminError, StorageError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1


def alarm_list(args: argparse.Namespace) -> int:
    """Every alarm in one list (registry/alarms.py): kiosk alarm
    events of 30 days and the on-call alarms of the messages subsystem."""
    from registry.alarms import load_alarms

    db = _open(args)
    try:
        listed = load_alarms(db, None)
    finally:
        db.close()
    if not getattr(args, "all", False):
        listed = [alarm for alarm in listed if alarm.open]
    if not listed:
        print("keine offenen Alarme / no open alarms")
    for alarm in listed:
        state = "offen"
        if alarm.cleared:
            state = "behoben"
        elif not alarm.open:
            state = "bestätigt"
        where = "/".join(str(p) for p in (alarm.kiosk_id, alarm.compartment) if p) or \
            alarm.order_reference
        key = alarm.event_id.removeprefix("oncall-")
        when = f"{alarm.occurred:%Y-%m-%d %H:%M}" if alarm.occurred else ""
        print(f"{key:>5}  {when}  {state:<9}  {alarm.type}  {where}  {alarm.detail}")
    return 0


def alarm_ack(args: argparse.Namespace) -> int:
    """Acknowledges an alarm: its number (on-call) or a kiosk event id, audited."""
    from registry.alarms import (
        ALREADY, COMMENT_MESSAGES, DONE, acknowledge_alarm, comment_problem,
    )

    problem = comment_problem(args.comment)
    if problem:  # the audit entry says what was done, as the console's does
        raise AdminError(f"--comment {COMMENT_MESSAGES[problem]}")
    key = f"oncall-{args.id}" if args.id.isdigit() else args.id
    db = _open(args)
    try:
        outcome = acknowledge_alarm(db, key, _actor(), args.comment, None)
    finally:
        db.close()
    if outcome == DONE:
        print(f"Alarm {args.id} bestätigt / acknowledged")
        return 0
    if outcome == ALREADY:
        print(f"Alarm {args.id} ist nicht offen / is not open", file=sys.stderr)
    else:
        print(f"Alarm {args.id} gibt es nicht / no such alarm", file=sys.stderr)
    return 1


def add_parsers(commands, db_default: str, notify_default: str) -> None:
    def local(sub, name: str, handler, **kwargs) -> argparse.ArgumentParser:
        p = sub.add_parser(name, **kwargs)
        p.add_argument("--db", default=db_default, help=f"registry database (default {db_default})")
        p.set_defaults(handler=handler, client=False)
        return p

    user = commands.add_parser("user", help="local user accounts").add_subparsers(
        dest="action", required=True, metavar="ACTION")
    add = local(user, "add", user_add, help="add a user (password from stdin or a prompt)")
    add.add_argument("name")
    add.add_argument("--roles", required=True, help="comma-separated: clerk,supervisor,...")
    add.add_argument("--office", help="the user's office (only an admin may have none)")
    add.add_argument("--final", action="store_true",
                     help="the password is the user's own: no forced change at the first"
                          " console sign-in, and the API accepts it at once")
    listing = local(user, "list", principal_list, help="list users")
    listing.add_argument("--json", action="store_true")
    link = local(user, "link", user_link,
                 help="let an OpenID Connect identity (issuer + subject) sign in as this user")
    link.add_argument("name")
    link.add_argument("--issuer", required=True, metavar="URL", help="the provider's issuer")
    link.add_argument("--subject", required=True, metavar="SUB",
                      help="the ID token's sub claim (stable; not the e-mail address)")
    link.add_argument("--unlink", action="store_true", help="remove the link instead")
    revoke = local(user, "revoke", principal_revoke, help="revoke a user (by name or id)")
    revoke.add_argument("id")
    roles = local(user, "roles", user_roles, help="replace a user's roles")
    roles.add_argument("name")
    roles.add_argument("--roles", required=True, help="comma-separated: clerk,supervisor,...")
    reactivate = local(user, "reactivate", user_reactivate, help="undo a user's revocation")
    reactivate.add_argument("name")
    password = local(user, "password", user_password,
                     help="set a new password (stdin or a prompt), or --generate one")
    password.add_argument("name")
    given = password.add_mutually_exclusive_group()
    given.add_argument("--generate", action="store_true",
                       help="make a one-time password and print it once")
    given.add_argument("--final", action="store_true",
                       help="the password given is the user's own: no forced change at the"
                            " next console sign-in")
    for p in (add, listing, revoke):
        p.set_defaults(kind="user")

    def list_and_revoke(sub, creating, kind: str, listed: str, revoked: str) -> None:
        listing = local(sub, "list", principal_list, help=f"list {listed}")
        listing.add_argument("--json", action="store_true")
        revoking = local(sub, "revoke", principal_revoke, help=f"revoke {revoked}")
        revoking.add_argument("id")
        for p in (creating, listing, revoking):
            p.set_defaults(kind=kind)

    apikey = commands.add_parser("apikey", help="API keys for integrations").add_subparsers(
        dest="action", required=True, metavar="ACTION")
    create = local(apikey, "create", apikey_create, help="create an API key (printed once)")
    create.add_argument("name")
    create.add_argument("--roles", default="integration")
    create.add_argument("--office")
    create.add_argument("--output", metavar="FILE", help="write the key to FILE (mode 0600)")
    create.add_argument("--expires-days", type=float, metavar="DAYS",
                        help="the key stops working after DAYS (default: until revoked)")
    list_and_revoke(apikey, create, "api_key", "API keys", "an API key by id")

    cert = commands.add_parser(
        "cert", help="client certificates for integrations (mTLS instead of an API key)"
    ).add_subparsers(dest="action", required=True, metavar="ACTION")
    cadd = local(cert, "add", cert_add, help="bind a client certificate's CN or SAN to a principal")
    cadd.add_argument("name", help="what the audit log calls this caller")
    cadd.add_argument("--certificate-name", required=True, metavar="CN",
                      help="the CN or a SAN of the client certificate")
    cadd.add_argument("--roles", default="integration")
    cadd.add_argument("--office")
    cadd.add_argument("--expires-days", type=float, metavar="DAYS",
                      help="stops working after DAYS (default: until revoked)")
    list_and_revoke(cert, cadd, "client_cert", "client certificate principals",
                    "a client certificate by id")

    office = commands.add_parser("office", help="offices (tenants)").add_subparsers(
        dest="action", required=True, metavar="ACTION")
    oadd = local(office, "add", office_add, help="add an office")
    oadd.add_argument("office_id")
    oadd.add_argument("--name")
    local(office, "list", office_list, help="list offices")

    audit = commands.add_parser("audit", help="the tamper-evident audit log").add_subparsers(
        dest="action", required=True, metavar="ACTION")
    verify = local(audit, "verify", audit_verify, help="check the hash chain; names the first break")
    verify.add_argument("--kiosk", metavar="KIOSK",
                        help="check the chain this kiosk reported instead of the registry's")
    export = local(audit, "export", audit_export, help="entries as JSON lines")
    export.add_argument("--order", metavar="REF", help="one order's history")
    export.add_argument("--staff", metavar="ID", help="one staff member's actions")
    export.add_argument("--actor", metavar="WHO", help="one principal, e.g. user:anna")
    export.add_argument("--since", metavar="TIME")
    export.add_argument("--until", metavar="TIME")

    alarm = commands.add_parser(
        "alarm", help="alarms: kiosk alarm events and on-call alarms, one list"
    ).add_subparsers(dest="action", required=True, metavar="ACTION")
    alist = local(alarm, "list", alarm_list, help="open alarms (all of 30 days with --all)")
    alist.add_argument("--all", action="store_true", help="also acknowledged and cleared ones")
    aack = local(alarm, "ack", alarm_ack, help="acknowledge an alarm (audited)")
    aack.add_argument("id", help="the alarm's number, or the kiosk event's id")
    aack.add_argument("--comment", default="", required=True,
                      help="what was done or found (into the audit log)")

    purge = local(commands, "purge", purge_now,
                  help="apply the retention rules now (the server also does it daily)")
    purge.add_argument("--notify-dir", default=notify_default, metavar="DIR")
    add_retention_options(purge)


def add_kiosk_enrol(kiosk_commands, db_default: str) -> None:
    enrol = kiosk_commands.add_parser("enrol", help="enrol a kiosk: bind it to an office and"
                                                    " create its credential")
    enrol.add_argument("kiosk_id", metavar="KIOSK")
    enrol.add_argument("--db", default=db_default, help=f"registry database (default {db_default})")
    enrol.add_argument("--office", help=f"the kiosk's office (default {DEFAULT_OFFICE})")
    enrol.add_argument("--certificate-name", metavar="NAME",
                       help="the CN or SAN of the kiosk's client certificate (mTLS)")
    enrol.add_argument("--output", metavar="PATH",
                       help=f"write the credential to PATH (a directory gets {KIOSK_CREDENTIAL_FILE})")
    enrol.set_defaults(handler=kiosk_enrol, client=False)
