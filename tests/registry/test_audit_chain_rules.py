"""The audit chain's pure rules (registry/audit.py): golden vectors and every break.

The hash and MAC formats are pinned with fixed inputs and their digests: a
change to either would make every log written before it fail to verify.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import json
from dataclasses import replace

import pytest

from registry import audit
from registry.audit import (
    AuditEntry,
    Checkpoint,
    VerifyResult,
    checkpoint_mac,
    entry_hash,
    hash_of,
    needs_checkpoint,
    verify_chain,
)

KEY = b"k" * 32
FIELDS = dict(seq=1, time="2026-12-02T10:00:00+00:00", actor="user:jörg",
              action="order.created", office_id="north", target="PO-1", outcome="ok",
              detail='{"peer":"ipv4:127.0.0.1"}')
FIRST_HASH = "a15678d35f82ee1d842a593b62a9cf5cab632a56cc5af533a6d49d0db2a4fa17"


def stored(text: str) -> str:
    """`text` as a new string object, as it comes back from the database.

    The chain must compare hashes by value: with shared objects, `is` would
    pass where `==` is meant.
    """
    return "".join(list(text))


def chain(n: int, every: int = 5) -> tuple[list[AuditEntry], list[Checkpoint]]:
    entries, prev = [], "0" * 64
    for seq in range(1, n + 1):
        fields = dict(FIELDS, seq=seq, target=f"PO-{seq}", detail=json.dumps({"n": seq}))
        digest = entry_hash(prev, **fields)
        entries.append(AuditEntry(**fields, prev_hash=stored(prev), hash=stored(digest)))
        prev = digest
    checkpoints = [Checkpoint(e.seq, stored(e.hash), checkpoint_mac(KEY, e.seq, e.hash))
                   for e in entries if e.seq % every == 0]
    return entries, checkpoints


def signed(seq: int, digest: str, key: bytes = KEY) -> Checkpoint:
    return Checkpoint(seq, digest, checkpoint_mac(key, seq, digest))


# --- golden vectors


def test_the_chain_starts_from_64_zeros():
    assert audit.GENESIS == "0" * 64


def test_entry_hash_is_sha256_of_a_compact_utf8_json_array():
    body = ('["' + "0" * 64 + '",1,"2026-12-02T10:00:00+00:00","user:jörg","order.created",'
            '"north","PO-1","ok","{\\"peer\\":\\"ipv4:127.0.0.1\\"}"]')
    assert hashlib.sha256(body.encode()).hexdigest() == FIRST_HASH
    assert entry_hash("0" * 64, **FIELDS) == FIRST_HASH


def test_every_field_goes_into_the_hash():
    base = entry_hash("0" * 64, **FIELDS)
    assert entry_hash("1" + "0" * 63, **FIELDS) != base
    for name, other in [("seq", 2), ("time", "2026-12-02T10:00:01+00:00"),
                        ("actor", "user:anna"), ("action", "order.cancelled"),
                        ("office_id", "south"), ("target", "PO-2"), ("outcome", "denied"),
                        ("detail", "{}")]:
        assert entry_hash("0" * 64, **dict(FIELDS, **{name: other})) != base, name


def test_hash_of_an_entry_uses_its_own_fields():
    entry = AuditEntry(**FIELDS, prev_hash="0" * 64, hash="")
    assert hash_of(entry) == FIRST_HASH
    assert hash_of(replace(entry, prev_hash="f" * 64)) == entry_hash("f" * 64, **FIELDS)


def test_checkpoint_mac_is_hmac_sha256_of_seq_and_head():
    expected = "98991a18be8a2be85890c244fd6446e2624ea6902bbe66e24874b547a3644e89"
    assert checkpoint_mac(KEY, 20, FIRST_HASH) == expected
    assert hmac.new(KEY, f"20:{FIRST_HASH}".encode(), hashlib.sha256).hexdigest() == expected
    assert checkpoint_mac(b"j" * 32, 20, FIRST_HASH) != expected
    assert checkpoint_mac(KEY, 40, FIRST_HASH) != expected


@pytest.mark.parametrize("seq, due", [(1, False), (19, False), (20, True), (21, False),
                                      (39, False), (40, True), (400, True), (410, False)])
def test_a_checkpoint_every_20_entries(seq, due):
    assert audit.CHECKPOINT_EVERY == 20
    assert needs_checkpoint(seq) is due


# --- verify_chain: what verifies


def test_an_empty_log_verifies():
    assert verify_chain([], [], KEY) == VerifyResult(True, 0)


def test_an_intact_chain_with_checkpoints_verifies_and_counts_its_entries():
    entries, checkpoints = chain(12)
    assert verify_chain(entries, checkpoints, KEY) == VerifyResult(True, 12, None, "")
    # Checkpoints given out of order are sorted first.
    assert verify_chain(entries, checkpoints[::-1], KEY).ok
    assert verify_chain(entries, [], KEY) == VerifyResult(True, 12)


def test_a_checkpoint_on_the_last_entry_verifies():
    entries, _ = chain(3)
    assert verify_chain(entries, [signed(3, entries[2].hash)], KEY).ok
    assert verify_chain(entries, [signed(1, entries[0].hash)], KEY).ok


# --- verify_chain: every break, named by the first entry that does not fit


def test_a_log_that_does_not_start_at_1_is_missing_entry_1():
    entries, _ = chain(3)
    result = verify_chain(entries[1:], [], KEY)
    assert result == VerifyResult(False, 2, 1, "entry 1 is missing (next is 2)")


def test_a_deleted_entry_in_the_middle_is_named():
    entries, _ = chain(6)
    del entries[3]
    assert verify_chain(entries, [], KEY) == VerifyResult(False, 5, 4,
                                                          "entry 4 is missing (next is 5)")


def test_a_duplicated_entry_is_found():
    entries, _ = chain(3)
    entries.insert(2, entries[1])
    assert verify_chain(entries, [], KEY) == VerifyResult(False, 4, 3,
                                                          "entry 3 is missing (next is 2)")


def test_a_first_entry_not_following_genesis_is_found():
    fields = dict(FIELDS)
    prev = "1" * 64
    entry = AuditEntry(**fields, prev_hash=prev, hash=entry_hash(prev, **fields))
    assert verify_chain([entry], [], KEY) == VerifyResult(
        False, 1, 1, "entry 1 does not follow entry 0")


def test_a_rehashed_edit_breaks_the_link_to_the_next_entry():
    entries, _ = chain(5)
    edited = replace(entries[2], target="PO-X")
    entries[2] = replace(edited, hash=hash_of(edited))
    assert verify_chain(entries, [], KEY) == VerifyResult(
        False, 5, 4, "entry 4 does not follow entry 3")


def test_an_edit_without_rehashing_is_found_at_the_edited_entry():
    entries, _ = chain(5)
    entries[1] = replace(entries[1], outcome="denied")
    assert verify_chain(entries, [], KEY) == VerifyResult(
        False, 5, 2, "entry 2 was changed after it was written")


def test_a_wrong_stored_hash_on_the_last_entry_is_found():
    entries, _ = chain(3)
    entries[2] = replace(entries[2], hash="0" * 64)
    assert verify_chain(entries, [], KEY) == VerifyResult(
        False, 3, 3, "entry 3 was changed after it was written")


def test_a_checkpoint_with_a_wrong_signature_is_found():
    entries, checkpoints = chain(10)
    forged = signed(5, entries[4].hash, key=b"x" * 32)
    assert verify_chain(entries, [forged, checkpoints[1]], KEY) == VerifyResult(
        False, 10, 5, "checkpoint at entry 5 has a wrong signature")
    # The first bad checkpoint in seq order is the one named.
    other = signed(10, entries[9].hash, key=b"x" * 32)
    assert verify_chain(entries, [other, forged], KEY).broken_seq == 5


def test_entries_cut_off_the_end_are_found_by_a_checkpoint_past_the_end():
    entries, checkpoints = chain(12)
    result = verify_chain(entries[:7], checkpoints, KEY)
    assert result == VerifyResult(
        False, 7, 8,
        "the log ends at entry 7 but a checkpoint vouches for entry 10:"
        " entries were cut off the end")


def test_a_rewritten_chain_differs_from_its_signed_checkpoint():
    # Someone rewrites the log consistently (every hash fits) without the key:
    # the old checkpoint still vouches for the old head.
    entries, checkpoints = chain(5)
    rewritten, prev = [], "0" * 64
    for entry in entries:
        fields = {f.name: getattr(entry, f.name) for f in dataclasses.fields(entry)
                  if f.name not in ("prev_hash", "hash")}
        fields["actor"] = "user:mallory"
        digest = entry_hash(prev, **fields)
        rewritten.append(AuditEntry(**fields, prev_hash=prev, hash=digest))
        prev = digest
    assert verify_chain(rewritten, [], KEY).ok
    assert verify_chain(rewritten, checkpoints, KEY) == VerifyResult(
        False, 5, 5, "entry 5 differs from its signed checkpoint")


def test_entries_are_checked_before_checkpoints():
    entries, checkpoints = chain(10)
    entries[7] = replace(entries[7], detail="{}")
    forged = signed(5, entries[4].hash, key=b"x" * 32)
    assert verify_chain(entries, [forged], KEY).broken_seq == 8


# --- the value objects


def test_entries_checkpoints_and_results_cannot_be_changed():
    entries, checkpoints = chain(1, every=1)
    for value, name in [(entries[0], "hash"), (checkpoints[0], "mac"),
                        (VerifyResult(True, 0), "ok")]:
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(value, name, "x")


def test_a_result_names_no_break_by_default():
    assert VerifyResult(True, 3) == VerifyResult(True, 3, None, "")


# --- found by mutation testing


def test_a_long_log_verifies():
    # Sequence numbers above 256 are distinct int objects: compared by value.
    entries, checkpoints = chain(300, every=20)
    assert verify_chain(entries, checkpoints, KEY) == VerifyResult(True, 300)


@pytest.mark.parametrize("stored_hash", ["0" * 64, "f" * 64])
def test_a_wrong_stored_hash_is_found_whichever_way_it_sorts(stored_hash):
    entries, _ = chain(3)
    entries[1] = replace(entries[1], hash=stored_hash)
    assert verify_chain(entries, [], KEY) == VerifyResult(
        False, 3, 2, "entry 2 was changed after it was written")


@pytest.mark.parametrize("signed_hash", ["0" * 64, "f" * 64])
def test_a_signed_checkpoint_for_another_head_is_found_whichever_way_it_sorts(signed_hash):
    # A checkpoint made with the key for a hash the entry does not have.
    entries, _ = chain(5)
    assert verify_chain(entries, [signed(5, signed_hash)], KEY) == VerifyResult(
        False, 5, 5, "entry 5 differs from its signed checkpoint")


@pytest.mark.parametrize("linked_to", ["0" * 64, "f" * 64])
def test_a_broken_link_is_found_whichever_way_it_sorts(linked_to):
    # Entry 2 rewritten to point elsewhere, its own hash made to fit.
    entries, _ = chain(3)
    fields = {f.name: getattr(entries[1], f.name) for f in dataclasses.fields(entries[1])
              if f.name not in ("prev_hash", "hash")}
    entries[1] = AuditEntry(**fields, prev_hash=linked_to, hash=entry_hash(linked_to, **fields))
    assert verify_chain(entries, [], KEY) == VerifyResult(
        False, 3, 2, "entry 2 does not follow entry 1")
