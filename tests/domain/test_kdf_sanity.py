"""The scrypt parameters: defaults, the sanity bounds, and that the bounds are enforced.

A verifier carries its own parameters; one read from a damaged record or
from the network must not make a single check take minutes or gigabytes,
so `check_verifier` refuses anything outside `KdfParams.is_sane` before
scrypt runs, even parameters scrypt itself would accept.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib

import pytest

from common import credentials
from common.credentials import KdfParams, check_verifier

CODE, PIN = "K7M29QXD45", "482913"


def forged_verifier(n: int, r: int, p: int, kdf: str = "scrypt") -> str:
    """A verifier whose digest really matches CODE and PIN under (n, r, p),
    computed by hashlib directly, so only the bounds can refuse it."""
    salt = b"\x00" * 16
    digest = hashlib.scrypt(credentials._join((CODE, PIN)), salt=salt, n=n, r=r, p=p,
                            maxmem=256 * 1024 * 1024, dklen=32)
    return "$".join([kdf, str(n), str(r), str(p),
                     base64.b64encode(salt).decode(), base64.b64encode(digest).decode()])


def test_default_cost():
    assert KdfParams() == KdfParams(n=2**14, r=8, p=1)
    assert (KdfParams().n, KdfParams().r, KdfParams().p) == (16384, 8, 1)


def test_params_are_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        KdfParams().n = 2  # type: ignore[misc]


@pytest.mark.parametrize(
    "n, r, p, sane",
    [
        (2, 1, 1, True),
        (2**14, 8, 1, True),
        (2**20, 1, 1, True),  # n at its bound
        (2**21, 1, 1, False),
        (1, 1, 1, False),  # a power of two, but below 2
        (0, 1, 1, False),
        (-16, 1, 1, False),
        (3, 1, 1, False),  # not a power of two
        (2**14 + 2**13, 8, 1, False),
        (2, 32, 1, True),  # r at its bound
        (2, 33, 1, False),
        (2, 0, 1, False),
        (2, 1, 16, True),  # p at its bound
        (2, 1, 17, False),
        (2, 1, 0, False),
    ],
)
def test_sanity_bounds(n, r, p, sane):
    assert KdfParams(n, r, p).is_sane() is sane


@pytest.mark.parametrize("n, r, p", [(2, 1, 17), (2, 33, 1), (2, 64, 1), (2, 1, 32)])
def test_a_correct_verifier_outside_the_bounds_is_refused(n, r, p):
    # scrypt would accept these parameters (and the digest is right): only
    # the sanity check stands between them and an expensive check.
    verifier = forged_verifier(n, r, p)
    assert check_verifier(verifier, CODE, PIN) is False


def test_the_same_verifier_inside_the_bounds_is_accepted():
    # The control for the test above: the forging itself is sound.
    assert check_verifier(forged_verifier(2, 1, 16), CODE, PIN) is True
    assert check_verifier(forged_verifier(2, 32, 1), CODE, PIN) is True


def test_only_scrypt_verifiers_are_checked():
    good = forged_verifier(16, 1, 1)
    assert check_verifier(good, CODE, PIN) is True
    for kdf in ("bcrypt", "SCRYPT", "", "scrypt "):
        assert check_verifier(good.replace("scrypt", kdf, 1), CODE, PIN) is False


def test_derive_gives_32_bytes_and_depends_on_every_parameter():
    base = KdfParams(n=16, r=1, p=1).derive(b"secret", b"salt")
    assert len(base) == 32
    others = {
        KdfParams(n=32, r=1, p=1).derive(b"secret", b"salt"),
        KdfParams(n=16, r=2, p=1).derive(b"secret", b"salt"),
        KdfParams(n=16, r=1, p=2).derive(b"secret", b"salt"),
        KdfParams(n=16, r=1, p=1).derive(b"secret", b"salt2"),
        KdfParams(n=16, r=1, p=1).derive(b"secret2", b"salt"),
    }
    assert base not in others and len(others) == 5


def test_memory_is_capped():
    # n = 2^18 with r = 8 needs 256 MiB and more: refused before it runs.
    with pytest.raises(ValueError):
        KdfParams(n=2**18, r=8, p=1).derive(b"secret", b"salt")


def test_sane_parameters_above_openssl_default_memory_still_run():
    # n = 2^15, r = 8 needs a little over 32 MiB, OpenSSL's default limit:
    # only the explicit, larger cap lets it run.
    assert len(KdfParams(n=2**15, r=8, p=1).derive(b"secret", b"salt")) == 32
