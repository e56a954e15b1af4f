"""Who is calling: credentials of users, API keys and kiosks, and checking them.

Secrets are stored only as scrypt hashes with their own salt. Passwords get
the expensive setting (people pick guessable ones); API keys and kiosk
credentials are 256-bit random tokens that no guessing reaches, so a cheaper
setting suffices and keeps every call fast. A verified token is remembered
(by its SHA-256) so that scrypt runs once per token and process.

A kiosk calls every few seconds (heartbeat, sync, its command stream), so a
verified kiosk credential is also believed, with its principal, for
:data:`KIOSK_CREDENTIAL_TTL_SECONDS`: those calls read no credential rows.
A revocation does not wait for that: committed in this process it takes
effect on the next call (the database counts revocations, see
``RegistryDatabase.credentials_generation``); committed by another instance
on PostgreSQL once its NOTIFY arrives (registry.wakeup), and by any other
process, SQLite's too, within a second (registry.credential_watch). A full
check reads the principal and its enrolment in one statement, and concurrent
checks of one token share it (a kiosk's calls after a fail-over arrive at
once). Every other credential's row is read on every call.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from common.auth import (
    ADMIN_CREDENTIAL_FILE,
    new_token,
    split_token,
    write_secret_file,
)
from registry import permissions
from registry.database import (
    DEFAULT_OFFICE, RegistryDatabase, Transaction, stored_moment, utcnow,
)
from registry.permissions import Principal, Role

PASSWORD_KDF = {"n": 2**14, "r": 8, "p": 1}
TOKEN_KDF = {"n": 2**10, "r": 8, "p": 1}
MIN_PASSWORD_LENGTH = 12
# Online guessing: after this many wrong passwords for one user name within
# the window, that name is refused (without checking) until the window passes.
MAX_PASSWORD_FAILURES = 5
FAILURE_WINDOW_SECONDS = 15 * 60.0
BOOTSTRAP_ADMIN = "local-admin"
# How long a verified kiosk credential is believed without reading its rows again.
# Revocations do not wait for it (see the module's docstring): every process is
# told to forget. So it can be long, and a fleet's calls (a heartbeat every 30 s,
# syncs, streams re-opened) almost never read a credential: after a fail-over
# the survivor checks each kiosk once instead of on nearly every call. It is not
# forever, as the last line of defence should a process miss both the NOTIFY and
# the poll (a bug, a clock): then a revocation still takes effect within it.
KIOSK_CREDENTIAL_TTL_SECONDS = 120.0


class AuthError(Exception):
    def __init__(self, reason: str, message: str, who: str = "anonymous") -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message
        self.who = who


def _hash(secret: str, salt: bytes, kdf: dict) -> bytes:
    return hashlib.scrypt(secret.encode(), salt=salt, maxmem=64 * 1024 * 1024, dklen=32, **kdf)


def parse_roles(text: str) -> frozenset[Role]:
    try:
        return frozenset(Role(r.strip()) for r in text.split(",") if r.strip())
    except ValueError:
        known = ", ".join(r.value for r in Role)
        raise ValueError(f"roles must be some of {known}, not {text!r}") from None


def check_scope(office_id: str | None, roles: frozenset[Role]) -> None:
    if not roles:
        raise ValueError("give at least one role")
    if office_id is None and (Role.ADMIN not in roles or roles - {Role.ADMIN, Role.SUPERVISOR}):
        raise ValueError("only the operator's admin may have no office; give --office")


def principal_of(row) -> Principal:
    return Principal(
        kind=row["kind"], name=row["name"], principal_id=row["principal_id"],
        office_id=row["office_id"], roles=parse_roles(row["roles"]), kiosk_id=row["kiosk_id"],
    )


def create_user(tx: Transaction, name: str, password: str, office_id: str | None,
                roles: frozenset[Role], change_required: bool = False) -> str:
    """A user with this password; ``change_required``: an administrator's password that
    the user must replace with their own at the first console sign-in."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValueError(f"a password needs at least {MIN_PASSWORD_LENGTH} characters")
    check_scope(office_id, roles)
    salt = secrets.token_bytes(16)
    principal_id = secrets.token_hex(8)
    tx.insert_principal(
        principal_id=principal_id, kind="user", name=name, office_id=office_id,
        roles=",".join(sorted(r.value for r in roles)), kiosk_id="",
        secret_salt=salt, secret_hash=_hash(password, salt, PASSWORD_KDF),
        password_change_required=change_required,
    )
    return principal_id


def _create_token(tx: Transaction, kind: str, name: str, office_id: str | None, roles: str,
                  kiosk_id: str = "", expire_time: datetime | None = None) -> str:
    token, token_id, secret = new_token()
    salt = secrets.token_bytes(16)
    tx.insert_principal(
        principal_id=token_id, kind=kind, name=name, office_id=office_id, roles=roles,
        kiosk_id=kiosk_id, secret_salt=salt, secret_hash=_hash(secret, salt, TOKEN_KDF),
        expire_time=expire_time,
    )
    return token


def create_api_key(tx: Transaction, name: str, office_id: str | None,
                   roles: frozenset[Role], expire_time: datetime | None = None) -> str:
    check_scope(office_id, roles)
    return _create_token(tx, "api_key", name, office_id, ",".join(sorted(r.value for r in roles)),
                         expire_time=expire_time)


def bind_client_certificate(tx: Transaction, name: str, certificate_name: str,
                            office_id: str | None, roles: frozenset[Role],
                            expire_time: datetime | None = None) -> str:
    """An office-software principal known by its client certificate's CN or SAN
    (mTLS, signed by the CA the registry trusts) instead of an API key."""
    check_scope(office_id, roles)
    certificate_name = certificate_name.strip()
    if not certificate_name:
        raise ValueError("give the certificate's CN or SAN (--certificate-name)")
    taken = tx.certificate_name_taken(certificate_name)
    if taken is not None:
        raise ValueError(f"the certificate name {certificate_name!r} already belongs to {taken};"
                         " a certificate identifies exactly one caller")
    principal_id = secrets.token_hex(8)
    tx.insert_principal(
        principal_id=principal_id, kind="client_cert", name=name, office_id=office_id,
        roles=",".join(sorted(r.value for r in roles)), kiosk_id="",
        secret_salt=b"", secret_hash=b"", expire_time=expire_time,
    )
    tx.bind_certificate(principal_id, certificate_name)
    return principal_id


def create_kiosk_credential(tx: Transaction, kiosk_id: str) -> str:
    """A new credential for an enrolled kiosk; earlier ones stop working."""
    office_id = tx.kiosk_office(kiosk_id)
    if office_id is None:
        raise ValueError(f"kiosk {kiosk_id} is not enrolled")
    tx.revoke_kiosk_credentials(kiosk_id)
    return _create_token(tx, "kiosk", kiosk_id, office_id, "", kiosk_id)


def ensure_local_admin(db: RegistryDatabase) -> Path | None:
    """At first start, creates the operator-admin credential beside the database.

    `kiosk-registry` on the same machine reads it from there, so the embedded
    registry works out of the box without any call being anonymous.
    """
    path = db.path.parent / ADMIN_CREDENTIAL_FILE
    with db.transaction() as tx:
        if path.exists() or any(
            row["name"] == BOOTSTRAP_ADMIN for row in tx.list_principals("api_key")
        ):
            return None
        token = create_api_key(tx, BOOTSTRAP_ADMIN, None,
                               frozenset({Role.ADMIN, Role.SUPERVISOR}))
        tx.audit("registry", "credential.created", target=BOOTSTRAP_ADMIN,
                 detail_file=str(path))
        write_secret_file(path, token)
    return path


def enrol_local_kiosk(db: RegistryDatabase, kiosk_id: str, credential_file: Path) -> None:
    """Enrols the kiosk of an embedded registry (same machine, same process) once."""
    with db.transaction() as tx:
        if tx.kiosk_office(kiosk_id) is not None and credential_file.exists():
            return
        office = tx.kiosk_office(kiosk_id) or DEFAULT_OFFICE
        tx.enrol_kiosk(kiosk_id, office, None)
        token = create_kiosk_credential(tx, kiosk_id)
        tx.audit("registry", "kiosk.enrolled", office_id=office, target=kiosk_id,
                 detail_file=str(credential_file))
        write_secret_file(credential_file, token)


@dataclass(frozen=True)
class BelievedKiosk:
    """A kiosk credential verified in full, believed for a while without its rows."""

    fingerprint: bytes  # SHA-256 of the whole token (never the token itself)
    principal: Principal
    expires: datetime | None  # the credential's own expiry
    checked_at: float  # the monotonic clock when its rows were read
    generation: int  # RegistryDatabase.credentials_generation before they were read


def believed(entry: BelievedKiosk, fingerprint: bytes, now: float, generation: int,
             wall_now: datetime) -> bool:
    """Whether ``entry`` still vouches for a token whose SHA-256 is ``fingerprint``:
    the same token (compared in constant time), read less than the TTL ago, no
    revocation since (``generation`` is the current count) and not expired."""
    return (hmac.compare_digest(fingerprint, entry.fingerprint)
            and 0 <= now - entry.checked_at < KIOSK_CREDENTIAL_TTL_SECONDS
            and entry.generation == generation
            and (entry.expires is None or wall_now < entry.expires))


class _Flight:
    """One full check of a token that concurrent callers with that token share."""

    def __init__(self, generation: int) -> None:
        self.generation = generation
        self.done = threading.Event()
        self.principal: Principal | None = None
        self.error: Exception | None = None

    def outcome(self) -> Principal:
        self.done.wait()
        if isinstance(self.error, AuthError):  # a fresh one: each caller's refusal is its own
            raise AuthError(self.error.reason, self.error.message, self.error.who)
        if self.error is not None:
            raise self.error
        assert self.principal is not None
        return self.principal


@dataclass(frozen=True)
class Peer:
    """What the transport says about the caller."""

    address: str
    certificate_names: tuple[str, ...]  # CN and SANs of a verified client certificate


class Authenticator:
    def __init__(self, db: RegistryDatabase, clock=time.monotonic) -> None:
        self._db = db
        self._verified: dict[bytes, str] = {}
        self._kiosks: dict[str, BelievedKiosk] = {}  # by token id
        self._flights: dict[bytes, _Flight] = {}  # full checks under way, by SHA-256 of the token
        self._failures: dict[str, list[float]] = {}
        self._clock = clock
        self._lock = threading.Lock()

    def _recent_failures(self, user: str) -> list[float]:
        now = self._clock()
        with self._lock:
            recent = [t for t in self._failures.get(user, []) if now - t < FAILURE_WINDOW_SECONDS]
            self._failures[user] = recent
            return recent

    def _failed(self, user: str) -> None:
        with self._lock:
            self._failures.setdefault(user, []).append(self._clock())

    def authenticate(self, authorization: str | None, peer: Peer) -> Principal | None:
        """The principal behind a call, None for an anonymous one; AuthError if refused."""
        cert_kiosk = self._kiosk_by_certificate(peer) if peer.certificate_names else None
        cert_office = (self._office_software_by_certificate(peer)
                       if peer.certificate_names and cert_kiosk is None else None)
        if cert_office is not None:
            if authorization is not None:
                # Two credentials naming (possibly) two callers: refuse, do not pick one.
                raise AuthError(
                    permissions.CREDENTIAL_MISMATCH,
                    f"the client certificate already identifies {cert_office.label}; send no"
                    " authorization header with it",
                    cert_office.label,
                )
            return cert_office
        if authorization is None:
            if peer.certificate_names and cert_kiosk is None:
                names = ", ".join(peer.certificate_names)
                raise AuthError(
                    permissions.CERTIFICATE_NOT_ENROLLED,
                    f"the client certificate ({names}) is not enrolled as a kiosk: run"
                    " `kiosk-registry kiosk enrol KIOSK --certificate-name NAME` (a kiosk) or"
                    " `kiosk-registry cert add NAME --certificate-name CN` (office software),"
                    " or present an API key",
                    f"certificate:{peer.certificate_names[0]}",
                )
            return cert_kiosk
        principal = self._by_header(authorization)
        if cert_kiosk is not None and (principal.kind, principal.kiosk_id) != (
            "kiosk", cert_kiosk.kiosk_id
        ):
            # A kiosk's certificate with somebody else's credential: one of
            # them is stolen or misconfigured; refuse rather than guess.
            raise AuthError(
                permissions.CREDENTIAL_MISMATCH,
                f"the client certificate belongs to kiosk {cert_kiosk.name} but the credential"
                f" to {principal.label}; office tools need a certificate of their own",
                principal.label,
            )
        return principal

    def _kiosk_by_certificate(self, peer: Peer) -> Principal | None:
        with self._db.reading() as tx:
            row = tx.enrolment_by_certificate(list(peer.certificate_names))
        if row is None:
            return None
        return Principal(kind="kiosk", name=row["kiosk_id"], principal_id="cert",
                         office_id=row["office_id"], kiosk_id=row["kiosk_id"])

    def _office_software_by_certificate(self, peer: Peer) -> Principal | None:
        with self._db.reading() as tx:
            found = tx.certificate_principal(list(peer.certificate_names))
        if found is None:
            return None
        name, row = found
        principal = principal_of(row)
        self._check_validity(row, principal)
        return principal

    @staticmethod
    def _check_validity(row, principal: Principal) -> None:
        if row["revoke_time"] is not None:
            raise AuthError(permissions.CREDENTIAL_REVOKED,
                            f"{principal.label} was revoked at {row['revoke_time']}:"
                            " ask an administrator for a new one", principal.label)
        if row["expire_time"] is not None and datetime.fromisoformat(row["expire_time"]) <= utcnow():
            raise AuthError(permissions.CREDENTIAL_EXPIRED,
                            f"{principal.label} expired at {row['expire_time']}:"
                            " ask an administrator for a new one", principal.label)

    def _by_header(self, authorization: str) -> Principal:
        scheme, _, value = authorization.partition(" ")
        value = value.strip()
        if scheme.lower() == "bearer":
            return self._by_token(value)
        if scheme.lower() == "basic":
            return self._by_password(value)
        raise AuthError(permissions.CREDENTIAL_INVALID,
                        "the authorization header must be 'Bearer <key>' or 'Basic <user:pw>'")

    def cached_kiosk(self, authorization: str | None) -> Principal | None:
        """The kiosk behind a ``Bearer`` credential that is believed (see :func:`believed`),
        else None (then authenticate()). Reads no database and hashes nothing but
        SHA-256, so the event loop may call it."""
        if authorization is None or authorization[:7].lower() != "bearer ":
            return None
        token = authorization[7:].strip()
        parts = split_token(token)
        if parts is None:
            return None
        return self._believed(parts[0], hashlib.sha256(token.encode()).digest())

    def _believed(self, token_id: str, fingerprint: bytes) -> Principal | None:
        entry = self._kiosks.get(token_id)
        if entry is None or not believed(entry, fingerprint, self._clock(),
                                         self._db.credentials_generation, utcnow()):
            return None
        return entry.principal

    def _by_token(self, token: str) -> Principal:
        parts = split_token(token)
        if parts is None:
            raise AuthError(permissions.CREDENTIAL_INVALID,
                            "this is not a registry credential (they start with pbx1.)")
        token_id, secret = parts
        fingerprint = hashlib.sha256(token.encode()).digest()
        cached = self._believed(token_id, fingerprint)
        if cached is not None:
            return cached
        # Counted before the rows are read: a revocation committed meanwhile
        # makes what this check finds stale at once.
        generation = self._db.credentials_generation
        with self._lock:
            flight = self._flights.get(fingerprint)
            # Joined only if no revocation came since it started: a caller
            # after a revocation must not get an answer read before it.
            leader = flight is None or flight.generation != generation
            if leader:
                flight = self._flights[fingerprint] = _Flight(generation)
        if not leader:
            return flight.outcome()
        try:
            flight.principal = self._check_token(token_id, secret, fingerprint, generation)
            return flight.principal
        except Exception as error:
            flight.error = error
            raise
        finally:
            with self._lock:
                if self._flights.get(fingerprint) is flight:
                    del self._flights[fingerprint]
            flight.done.set()

    def _check_token(self, token_id: str, secret: str, fingerprint: bytes,
                     generation: int) -> Principal:
        """The full check: the principal's row with its enrolment (one read), the
        secret's hash (once per token and process), validity and enrolment."""
        checked_at = self._clock()
        with self._db.reading() as tx:
            row = tx.token_principal(token_id)
        if row is None or row["kind"] in ("user", "client_cert"):
            raise AuthError(permissions.CREDENTIAL_INVALID,
                            "unknown credential: ask an administrator for a new API key")
        with self._lock:
            known = self._verified.get(fingerprint) == token_id
        if not known:
            if not hmac.compare_digest(_hash(secret, row["secret_salt"], TOKEN_KDF),
                                       row["secret_hash"]):
                raise AuthError(permissions.CREDENTIAL_INVALID,
                                "unknown credential: ask an administrator for a new API key",
                                f"{row['kind']}:{row['name']}")
            with self._lock:
                self._verified[fingerprint] = token_id
        principal = principal_of(row)
        self._check_validity(row, principal)
        if principal.kind == "kiosk":
            if row["enrolled_kiosk"] is None:
                raise AuthError(permissions.CREDENTIAL_REVOKED,
                                f"kiosk {principal.kiosk_id} is no longer enrolled",
                                principal.label)
            expires = row["expire_time"]
            entry = BelievedKiosk(fingerprint, principal,
                                  None if expires is None else datetime.fromisoformat(expires),
                                  checked_at, generation)
            with self._lock:
                self._kiosks[token_id] = entry
        return principal

    def _by_password(self, value: str) -> Principal:
        try:
            user, sep, password = base64.b64decode(value, validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            user, sep, password = "", "", ""
        if not sep:
            raise AuthError(permissions.CREDENTIAL_INVALID,
                            "Basic authorization needs base64 of 'user:password'")
        principal, row = self.verify_password(user, password)
        if row["password_change_required"]:
            # An administrator's password (initial or reset) is for the first console
            # sign-in only; integrations use API keys, so refusing it breaks none.
            raise AuthError(permissions.PASSWORD_CHANGE_REQUIRED,
                            f"the password of {user} was issued by an administrator: sign in"
                            " to the office console once and choose your own password",
                            principal.label)
        return principal

    def verify_password(self, user: str, password: str):
        """(the principal, its row) if ``password`` is ``user``'s and the account is active;
        AuthError otherwise. Wrong passwords count towards the throttle of the name."""
        recent = self._recent_failures(user)
        if len(recent) >= MAX_PASSWORD_FAILURES:
            wait = int(FAILURE_WINDOW_SECONDS - (self._clock() - recent[0])) // 60 + 1
            raise AuthError(permissions.TOO_MANY_FAILURES,
                            f"too many wrong passwords for {user}: try again in {wait} minutes"
                            " or ask an administrator", f"user:{user}"[:80])
        with self._db.transaction() as tx:
            row = tx.user_by_name(user)
        # Hash even for an unknown user, so timing does not tell who exists.
        salt = row["secret_salt"] if row is not None else b"\0" * 16
        digest = _hash(password, salt, PASSWORD_KDF)
        if row is None or not hmac.compare_digest(digest, row["secret_hash"]):
            self._failed(user)
            raise AuthError(permissions.CREDENTIAL_INVALID,
                            "wrong user name or password", f"user:{user}"[:80])
        principal = principal_of(row)
        if row["revoke_time"] is not None:
            raise AuthError(permissions.CREDENTIAL_REVOKED,
                            f"the account {user} was revoked: ask an administrator",
                            principal.label)
        return principal, row


# ------------------------------------------------------ user administration
#
# One set of rules for every way users are managed: `kiosk-registry user ...`
# (as the local operator, see LOCAL_OPERATOR) and the console's users page
# (as the signed-in admin). The checks are pure functions over Principals;
# the functions that change a user read the row, apply them, write and audit
# in the caller's transaction.

# Who may hand out which role. Nobody grants (or takes away) a role ranked
# above their own best one; the operator's admins (admin without an office,
# all offices) rank above every office's admin, and only they create more of
# their kind.
ROLE_RANK = {Role.CLERK: 1, Role.INTEGRATION: 1, Role.TECHNICIAN: 1, Role.AUDITOR: 1,
             Role.SUPERVISOR: 2, Role.ADMIN: 3}
OPERATOR_RANK = 4
USER_NAME_CHARACTERS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                 "0123456789._-@")
MAX_USER_NAME = 64
# Initial passwords: no look-alikes (0/O, 1/l/I), so they can be read out or
# typed from a note; 4 groups of 4 from 54 characters are about 92 bits.
PASSWORD_ALPHABET = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"


class UserRuleError(ValueError):
    """A refused change to a user: ``code`` says which rule (the console words
    it per code in its languages), ``field`` which form field it concerns."""

    def __init__(self, code: str, message: str, field: str = "") -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field


def local_operator(name: str) -> Principal:
    """Whoever runs `kiosk-registry` on the registry's machine: may read the
    database file, so administers everything (audited as local:NAME)."""
    return Principal(kind="local", name=name, roles=frozenset({Role.ADMIN, Role.SUPERVISOR}))


def rank(principal: Principal) -> int:
    if Role.ADMIN in principal.roles and principal.office_id is None:
        return OPERATOR_RANK
    return max((ROLE_RANK[role] for role in principal.roles), default=0)


def role_text(roles: frozenset[Role]) -> str:
    return ",".join(sorted(r.value for r in roles))


def check_user_name(name: str) -> None:
    if not name:
        raise UserRuleError("NAME_MISSING", "give a user name", "name")
    if len(name) > MAX_USER_NAME or not set(name) <= USER_NAME_CHARACTERS:
        raise UserRuleError("NAME_INVALID", f"a user name has 1 to {MAX_USER_NAME} letters,"
                            " digits, '.', '_', '-' or '@'", "name")


def check_roles_given(roles: frozenset[Role]) -> None:
    if not roles:
        raise UserRuleError("ROLES_MISSING", "give at least one role", "roles")


def check_manages(actor: Principal, office_id: str | None) -> None:
    """May ``actor`` manage the users of ``office_id`` (None: the operator's) at all?"""
    if permissions.Permission.USERS_MANAGE not in actor.permissions:
        raise UserRuleError(permissions.ROLE_MISSING, f"{actor.label} is no administrator")
    if actor.office_id is not None and office_id != actor.office_id:
        raise UserRuleError(permissions.OTHER_OFFICE,
                            f"{actor.label} manages only the users of office {actor.office_id}")


def check_grant(actor: Principal, office_id: str | None, roles: frozenset[Role]) -> None:
    """May ``actor`` give a user of ``office_id`` exactly these roles?"""
    if office_id is None and rank(actor) < OPERATOR_RANK:
        raise UserRuleError("OPERATOR_ONLY", "only the operator's admins (no office) manage"
                            " users for all offices", "office")
    check_manages(actor, office_id)
    check_roles_given(roles)
    try:
        check_scope(office_id, roles)
    except ValueError as error:
        raise UserRuleError("NO_OFFICE", str(error), "office") from None
    above = sorted(r.value for r in roles if ROLE_RANK[r] > rank(actor))
    if above:
        raise UserRuleError("ROLE_ABOVE_OWN", f"{actor.label} may not grant {', '.join(above)},"
                            " a role above their own", "roles")


def check_not_locked_out(actor: Principal, target: Principal, remaining: frozenset[Role],
                         other_admins: int) -> None:
    """An admin may not take their own last admin right: not by a role change
    (``remaining`` the roles left) nor by deactivating themselves (nothing
    left), unless ``other_admins`` active admin users of the same scope remain."""
    if (target.principal_id == actor.principal_id and actor.kind == "user"
            and Role.ADMIN in target.roles and Role.ADMIN not in remaining
            and other_admins == 0):
        raise UserRuleError("LAST_ADMIN", f"{actor.label} is the last admin of"
                            f" {target.office_id or 'all offices'}: make another user an admin"
                            " first", "roles")


def user_state(row) -> str:
    """What a form showed of a user; a form whose user changed since is refused."""
    digest = hashlib.sha256(
        f"{row['roles']}|{row['office_id']}|{row['revoke_time']}".encode()).hexdigest()
    return digest[:16]


def new_initial_password() -> str:
    groups = ("".join(secrets.choice(PASSWORD_ALPHABET) for _ in range(4)) for _ in range(4))
    return "-".join(groups)


def _target(tx: Transaction, actor: Principal, name: str, seen: str | None):
    row = tx.user_by_name(name)
    if row is None:
        raise UserRuleError("NO_USER", f"no user {name}: see `kiosk-registry user list`")
    target = principal_of(row)
    check_manages(actor, target.office_id)
    if rank(target) > rank(actor):
        raise UserRuleError("ROLE_ABOVE_OWN", f"{target.label} ranks above {actor.label}",
                            "roles")
    if seen is not None and seen != user_state(row):
        raise UserRuleError("STALE", f"{target.label} was changed meanwhile; look again")
    return row, target


def _other_admins(tx: Transaction, target: Principal) -> int:
    return sum(1 for row in tx.list_principals("user")
               if row["principal_id"] != target.principal_id and row["revoke_time"] is None
               and row["office_id"] == target.office_id
               and Role.ADMIN in parse_roles(row["roles"]))


def add_user(tx: Transaction, actor: Principal, name: str, office_id: str | None,
             roles: frozenset[Role], password: str | None = None,
             final: bool = False) -> tuple[str, str]:
    """Creates a user; returns (principal id, password). Without ``password`` a
    one-time initial password is made, for the caller to show once. The user must
    replace it (or the ``password`` given) with their own at the first console
    sign-in, unless ``final`` (a password the operator set on the user's behalf)."""
    check_user_name(name)
    if tx.user_by_name(name) is not None:
        raise UserRuleError("NAME_TAKEN", f"user {name} exists; pick another name", "name")
    if office_id is not None and tx.get_office(office_id) is None:
        raise UserRuleError("OFFICE_UNKNOWN", f"no office {office_id}: add it with"
                            " `kiosk-registry office add`", "office")
    check_grant(actor, office_id, roles)
    given = password
    password = new_initial_password() if password is None else password
    try:
        principal_id = create_user(tx, name, password, office_id, roles,
                                   change_required=password_must_change(given, final))
    except ValueError as error:
        raise UserRuleError("PASSWORD_SHORT", str(error), "password") from None
    tx.audit(actor.label, "user.created", office_id=office_id or "", target=name,
             roles=role_text(roles))
    return principal_id, password


def change_roles(tx: Transaction, actor: Principal, name: str, roles: frozenset[Role],
                 seen: str | None = None) -> None:
    row, target = _target(tx, actor, name, seen)
    check_grant(actor, target.office_id, roles)
    check_not_locked_out(actor, target, roles, _other_admins(tx, target))
    if roles == target.roles:
        return
    tx.set_principal_roles(target.principal_id, role_text(roles))
    tx.audit(actor.label, "user.roles_changed", office_id=target.office_id or "",
             target=name, roles=role_text(roles), previous=row["roles"])


def deactivate_user(tx: Transaction, actor: Principal, name: str,
                    seen: str | None = None) -> str:
    """Revokes the user's sign-in (password and single sign-on); returns its principal
    id so the caller ends its open sessions."""
    row, target = _target(tx, actor, name, seen)
    check_not_locked_out(actor, target, frozenset(), _other_admins(tx, target))
    if not tx.revoke_principal(target.principal_id):
        raise UserRuleError("ALREADY", f"{name} is already deactivated")
    tx.audit(actor.label, "user.revoked", office_id=target.office_id or "", target=name)
    return target.principal_id


def reactivate_user(tx: Transaction, actor: Principal, name: str,
                    seen: str | None = None) -> None:
    _row, target = _target(tx, actor, name, seen)
    if not tx.reinstate_principal(target.principal_id):
        raise UserRuleError("ALREADY", f"{name} is active")
    tx.audit(actor.label, "user.reactivated", office_id=target.office_id or "", target=name)


def reset_password(tx: Transaction, actor: Principal, name: str, password: str | None = None,
                   seen: str | None = None, final: bool = False) -> tuple[str, str]:
    """A new password (a one-time one without ``password``); returns (principal id,
    password). The old one stops working at once; end the user's sessions too. The
    user must choose their own at the next console sign-in unless ``final``."""
    _row, target = _target(tx, actor, name, seen)
    change_required = password_must_change(password, final)
    password = new_initial_password() if password is None else password
    if len(password) < MIN_PASSWORD_LENGTH:
        raise UserRuleError("PASSWORD_SHORT", f"a password needs at least"
                            f" {MIN_PASSWORD_LENGTH} characters", "password")
    salt = secrets.token_bytes(16)
    tx.set_principal_secret(target.principal_id, salt, _hash(password, salt, PASSWORD_KDF),
                            change_required=change_required)
    tx.audit(actor.label, "user.password_reset", office_id=target.office_id or "", target=name,
             change_required=change_required)
    return target.principal_id, password


# ------------------------------------------------------ one's own password
#
# A password an administrator issued (made by the registry, or typed by the
# operator) is known to more than its user, so it is for the first sign-in
# only: the console then lets the user do nothing but choose their own, and
# the API refuses it (Authenticator._by_password). Every signed-in user may
# change their own password any time, without an administrator.


def password_must_change(given: str | None, final: bool) -> bool:
    """Whether an administrator's new password must be replaced by the user: always a
    generated one (the registry shows it to the admin), a given one unless ``final``."""
    return given is None or not final


def new_password_problems(current: str, new: str, again: str) -> list[UserRuleError]:
    """What is wrong with choosing ``new`` (typed twice, ``again``) to replace
    ``current``, each refusal for its field; empty when nothing is."""
    problems = []
    if not new:
        problems.append(UserRuleError("NEW_PASSWORD_MISSING", "give the new password",
                                      "new_password"))
    elif len(new) < MIN_PASSWORD_LENGTH:
        problems.append(UserRuleError("PASSWORD_SHORT", f"a password needs at least"
                                      f" {MIN_PASSWORD_LENGTH} characters", "new_password"))
    elif hmac.compare_digest(new.encode(), current.encode()):
        problems.append(UserRuleError("PASSWORD_REUSED", "the new password must differ from"
                                      " the current one", "new_password"))
    if new and not hmac.compare_digest(new.encode(), again.encode()):
        problems.append(UserRuleError("PASSWORD_MISMATCH", "the two new passwords differ",
                                      "new_password_again"))
    return problems


def change_own_password(tx: Transaction, principal: Principal, current: str, new: str,
                        again: str, seen_secret: bytes) -> None:
    """The user's own new password, replacing ``current`` (which the caller checked with
    Authenticator.verify_password, whose row gave ``seen_secret``). Clears the demand
    to change it. A password that changed since it was checked (a reset, another
    session) is not overwritten."""
    problems = new_password_problems(current, new, again)
    if problems:
        raise problems[0]
    row = tx.get_principal(principal.principal_id)
    if row is None or row["kind"] != "user" or row["revoke_time"] is not None:
        raise UserRuleError("NO_USER", f"{principal.label} is no active user")
    if not hmac.compare_digest(bytes(row["secret_hash"]), bytes(seen_secret)):
        raise UserRuleError("STALE", f"the password of {principal.label} was changed meanwhile")
    salt = secrets.token_bytes(16)
    tx.set_principal_secret(principal.principal_id, salt, _hash(new, salt, PASSWORD_KDF),
                            change_required=False)
    tx.audit(principal.label, "user.password_changed", office_id=principal.office_id or "",
             target=principal.name, was_required=bool(row["password_change_required"]))


def link_oidc(tx: Transaction, actor: Principal, name: str, issuer: str, subject: str) -> None:
    """Lets a person sign in through OpenID Connect as this user (registry/oidc.py)."""
    _row, target = _target(tx, actor, name, None)
    linked = tx.oidc_principal(issuer, subject)
    if linked is not None:
        raise UserRuleError("ALREADY", f"{subject} at {issuer} is already linked to"
                            f" {linked['name']}; unlink it first")
    tx.link_oidc_identity(issuer, subject, target.principal_id)
    tx.audit(actor.label, "user.oidc_linked", office_id=target.office_id or "", target=name,
             issuer=issuer, subject=subject)


def unlink_oidc(tx: Transaction, actor: Principal, name: str, issuer: str, subject: str,
                seen: str | None = None) -> None:
    _row, target = _target(tx, actor, name, seen)
    linked = tx.oidc_principal(issuer, subject)
    if linked is None or linked["principal_id"] != target.principal_id:
        raise UserRuleError("NOT_LINKED", f"{subject} at {issuer} is not linked to {name}")
    tx.unlink_oidc_identity(issuer, subject)
    tx.audit(actor.label, "user.oidc_unlinked", office_id=target.office_id or "", target=name,
             issuer=issuer, subject=subject)


@dataclass(frozen=True)
class UserView:
    """One user as an administrator sees it (no secrets)."""

    name: str
    principal_id: str
    office_id: str | None
    roles: frozenset[Role]
    active: bool
    oidc: tuple[tuple[str, str], ...]  # (issuer, subject) it may sign in as
    last_signin: datetime | None  # the latest console sign-in (principals.last_sign_in_time)
    state: str  # user_state(), for stale-form checks
    password_change_required: bool = False  # still the password an administrator issued


def list_users(tx: Transaction, actor: Principal) -> list[UserView]:
    """The users ``actor`` manages: an office admin's own office's, the operator's all."""
    users = []
    for row in tx.list_principals("user"):
        if actor.office_id is not None and row["office_id"] != actor.office_id:
            continue
        users.append(UserView(
            name=row["name"], principal_id=row["principal_id"], office_id=row["office_id"],
            roles=parse_roles(row["roles"]), active=row["revoke_time"] is None,
            oidc=tuple((r["issuer"], r["subject"])
                       for r in tx.oidc_identities_of(row["principal_id"])),
            last_signin=stored_moment(row["last_sign_in_time"]),
            state=user_state(row),
            password_change_required=bool(row["password_change_required"])))
    return sorted(users, key=lambda user: user.name.casefold())
