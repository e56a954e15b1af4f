"""The request-field checks of registry/validation.py, called directly.

Every limit is tested on both sides of its edge, and every refusal names the
field (in the message and in the ErrorInfo metadata) and the problem.
"""

from __future__ import annotations

import grpc
import pytest

from registry import validation
from registry.errors import INVALID_ARGUMENT, RegistryError


def refusal(call, *args, **kwargs) -> RegistryError:
    with pytest.raises(RegistryError) as caught:
        call(*args, **kwargs)
    error = caught.value
    assert error.code is grpc.StatusCode.INVALID_ARGUMENT
    assert error.reason == INVALID_ARGUMENT
    return error


def test_the_limits_are_the_documented_ones():
    assert validation.MAX_IDENTIFIER_LENGTH == 64
    assert validation.MAX_REQUEST_ID_LENGTH == 128
    assert validation.MAX_TEXT_LENGTH == 500


# --- identifier


@pytest.mark.parametrize("value", ["a", "7", "kiosk-1", "office_north.2", "A" * 64, "x-" * 32])
def test_identifiers_that_are_accepted_come_back_unchanged(value):
    assert validation.identifier("kiosk_id", value) == value
    assert validation.identifier("kiosk_id", value, required=False) == value


def test_a_missing_required_identifier_is_refused_by_name():
    error = refusal(validation.identifier, "kiosk_id", "")
    assert error.message == "kiosk_id: is required"
    assert error.metadata == {"field": "kiosk_id"}


def test_a_missing_optional_identifier_is_accepted_as_empty():
    assert validation.identifier("kiosk_id", "", required=False) == ""


def test_an_identifier_one_character_too_long_is_refused_with_both_lengths():
    error = refusal(validation.identifier, "office_id", "a" * 65)
    assert error.message == "office_id: is 65 characters long; at most 64 are allowed"
    assert error.metadata == {"field": "office_id"}
    # The length check applies to optional identifiers too.
    refusal(validation.identifier, "office_id", "a" * 65, required=False)


@pytest.mark.parametrize("value", ["-kiosk", ".hidden", "_x", "kiosk 1", "kiosk/1", "ä", "a\n"])
def test_an_identifier_with_unsafe_characters_is_refused_naming_the_rule(value):
    error = refusal(validation.identifier, "kiosk_id", value)
    assert error.message == (
        f"kiosk_id: {value!r} may only contain letters, digits, '.', '_' and '-',"
        " and must start with a letter or digit"
    )
    refusal(validation.identifier, "kiosk_id", value, required=False)


# --- request_id and free text


def test_a_request_id_of_the_maximum_length_is_accepted():
    assert validation.request_id("r" * 128) == "r" * 128
    assert validation.request_id("") == ""


def test_a_request_id_one_character_too_long_is_refused():
    error = refusal(validation.request_id, "r" * 129)
    assert error.message == "request_id: is longer than 128 characters"
    assert error.metadata == {"field": "request_id"}


def test_text_up_to_the_default_maximum_is_accepted():
    assert validation.text("reason", "t" * 500) == "t" * 500
    assert validation.text("reason", "") == ""


def test_text_one_character_over_the_default_maximum_is_refused():
    error = refusal(validation.text, "reason", "t" * 501)
    assert error.message == "reason: is longer than 500 characters"
    assert error.metadata == {"field": "reason"}


def test_text_with_its_own_maximum():
    assert validation.text("name", "n" * 20, max_length=20) == "n" * 20
    error = refusal(validation.text, "name", "n" * 21, max_length=20)
    assert error.message == "name: is longer than 20 characters"


# --- page size


def test_page_size_zero_means_the_default():
    assert validation.page_size(0, default=50, maximum=500) == 50


def test_page_size_below_the_maximum_is_kept():
    assert validation.page_size(1, default=50, maximum=500) == 1
    assert validation.page_size(499, default=50, maximum=500) == 499
    assert validation.page_size(500, default=50, maximum=500) == 500


def test_page_size_above_the_maximum_is_cut_to_it():
    assert validation.page_size(501, default=50, maximum=500) == 500
    assert validation.page_size(10**9, default=50, maximum=500) == 500


# --- contact


@pytest.mark.parametrize("value", ["", "anna@example.org", "anna@example.org;lang=en",
                                   "+491701234567"])
def test_usable_contacts_come_back_unchanged(value):
    assert validation.contact(value) == value


@pytest.mark.parametrize("value, problem", [
    ("anna@example.org;lang=xx", "unknown parameter 'lang=xx'"),
    (";lang=de", "a language was given but no address or number"),
])
def test_an_unusable_contact_is_refused_as_the_contact_field(value, problem):
    error = refusal(validation.contact, value)
    assert error.message.startswith("contact: ")
    assert problem in error.message
    assert error.metadata == {"field": "contact"}
    # The ContactError is not chained: the caller sees one clear message.
    assert error.__cause__ is None and error.__suppress_context__


# --- how the checks are called


def test_flags_and_bounds_are_keyword_only_and_fields_may_be_named():
    # `identifier("kiosk_id", value, False)` would not say what False means.
    with pytest.raises(TypeError):
        validation.identifier("kiosk_id", "", False)  # type: ignore[misc]
    with pytest.raises(TypeError):
        validation.page_size(0, 50, 500)  # type: ignore[misc]
    assert validation.identifier(field="kiosk_id", value="k-1") == "k-1"
    assert validation.page_size(value=0, default=50, maximum=500) == 50


def test_a_new_deadline_only_extends_lies_ahead_and_at_most_90_days():
    from datetime import datetime, timedelta, timezone

    now = datetime(2026, 12, 2, 12, tzinfo=timezone.utc)
    current = now + timedelta(days=5)
    assert validation.new_deadline(current, now + timedelta(days=6), now) == now + timedelta(days=6)
    assert validation.new_deadline(None, now + timedelta(days=90), now) == now + timedelta(days=90)
    for wanted, problem in ((None, "is required"), (now, "is in the past"),
                            (current, "can only be extended"),
                            (current - timedelta(seconds=1), "can only be extended"),
                            (now + timedelta(days=90, seconds=1), "more than 90 days")):
        with pytest.raises(RegistryError) as refused:
            validation.new_deadline(current, wanted, now)
        assert refused.value.metadata["field"] == "pickup_deadline"
        assert problem in refused.value.message
