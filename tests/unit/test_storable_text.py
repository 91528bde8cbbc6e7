"""Storable text, one line of text: the one rule (domain.text) and the cleaners that use it.

Property-based: whatever text, numbers or JSON shapes come in, the domain either keeps a value
that every database, page and mail header can hold, or refuses it with InvalidValue (or, for
a provider's answer, IdentityRejected) whose message names the field and is storable itself.
"""

from __future__ import annotations

import json
import math
from datetime import datetime, timezone
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.sso.claims import ClaimMapper, parse_value_map
from domain.errors import IdentityRejected, InvalidValue
from domain.sso.messages import link_code_letter
from domain.practitioners.practitioner import Practitioner
from domain.tenancy.tenant import ClaimMapping, DEFAULT_CLAIM_MAPPINGS, Tenant
from domain.sso.identity import VerifiedIdentity
from domain.sso.provider import ProviderSettings, url_problem
from domain.text import (
    MAX_URL_LENGTH,
    document_problem,
    is_one_line,
    is_storable,
    one_line_text,
    storable_text,
    url_shape_problem,
)
from domain.passwords.new_password import validate_new_password
from domain.practitioners.profile import ProfileField, clean_name, clean_optional

PROPERTY = settings(max_examples=200, deadline=None, database=None)

# Every code point, lone surrogates (which only a JSON escape can make) and controls included.
ANY_CHARACTER = st.one_of(
    st.characters(), st.characters(categories=["Cs"]), st.sampled_from("\x00\t\n\r\x0b\x1b\x7f\x85\u2028\u2029")
)
ANY_TEXT = st.text(ANY_CHARACTER, max_size=30)
JSON_VALUE = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True, allow_infinity=True), ANY_TEXT),
    lambda children: st.one_of(st.lists(children, max_size=3), st.dictionaries(ANY_TEXT, children, max_size=3)),
    max_leaves=10,
)
CONTROL = [chr(c) for c in (*range(0x20), *range(0x7F, 0xA0))] + ["\u2028", "\u2029"]


def storable(text: str) -> bool:
    """The oracle: what PostgreSQL stores as text. UTF-8 encodable, and no NUL."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return "\x00" not in text


def keepable(document: Any) -> bool:
    if isinstance(document, str):
        return storable(document)
    if isinstance(document, float):
        return math.isfinite(document)
    if isinstance(document, dict):
        return all(storable(k) and keepable(v) for k, v in document.items())
    if isinstance(document, list):
        return all(keepable(v) for v in document)
    return True


@PROPERTY
@given(ANY_TEXT)
def test_storable_text_is_exactly_what_utf8_without_nul_can_hold(text: str):
    assert is_storable(text) == storable(text)
    assert is_one_line(text) == (storable(text) and not any(c in CONTROL for c in text))


@PROPERTY
@given(ANY_TEXT)
def test_a_refusal_names_the_field_in_words_and_is_storable_itself(text: str):
    for check in (storable_text, one_line_text):
        try:
            assert check(text, "first_name", "first name") == text
        except InvalidValue as refused:
            assert refused.field == "first_name"
            assert refused.message.startswith("the first name ")
            assert is_one_line(refused.message)


@pytest.mark.parametrize(
    "text, words",
    [
        ("Ann\x00", "the first name contains a character that cannot be stored"),
        ("Ann\ud800", "the first name contains a character that cannot be stored"),
        ("Ann\nMarie", "the first name must be one line"),
        ("Ann\tMarie", "the first name must be one line"),
        ("Ann\u2028", "the first name must be one line"),
        ("Ann\x85", "the first name must be one line"),
    ],
)
def test_a_name_that_is_not_one_line_of_storable_text_is_refused(text: str, words: str):
    with pytest.raises(InvalidValue, match=words):
        clean_name(text, "first_name", "first name")


@PROPERTY
@given(ANY_TEXT)
def test_a_cleaned_name_or_optional_field_is_one_line_of_storable_text(text: str):
    for clean in (
        lambda t: clean_name(t, "first_name", "first name"),
        lambda t: clean_optional(t, "job_title", "job title", 100),
    ):
        try:
            value = clean(text)
        except InvalidValue:
            continue
        assert value is None or (is_one_line(value) and value == value.strip() and "  " not in value)


@PROPERTY
@given(ANY_TEXT)
def test_a_password_is_storable_text_or_refused(text: str):
    try:
        validate_new_password(text + "x" * 10)
    except InvalidValue as refused:
        assert refused.field == "password"
    else:
        (text + "x" * 10).encode("utf-8")  # the hasher's input


@PROPERTY
@given(JSON_VALUE)
def test_a_document_is_kept_only_when_all_its_text_is_storable_and_its_numbers_finite(document: Any):
    problem = document_problem(document)
    assert (problem is None) == keepable(document)
    if problem is not None:
        assert is_storable(problem)
        json.dumps({"detail": problem}, ensure_ascii=False).encode("utf-8")


def test_a_document_names_where_its_problem_is():
    assert (
        document_problem({"name": {"givenName": "A\x00"}})
        == "name.givenName contains a character that cannot be stored"
    )
    assert (
        document_problem({"emails": [{"value": "ok"}, {"value": "\ud800"}]})
        == "emails[1].value contains a character that cannot be stored"
    )
    assert document_problem({"count": float("inf")}) == "count is not a finite number"
    assert document_problem({"a": {"\ud800": 1}}) == "an attribute name in a contains a character that cannot be stored"
    assert document_problem([float("nan")]) == "[0] is not a finite number"


def test_a_document_nested_deeper_than_the_recursion_limit_is_checked():
    deep: Any = "\x00"
    for _ in range(100_000):
        deep = [deep]
    assert document_problem(deep) is not None


@PROPERTY
@given(claims=st.dictionaries(ANY_TEXT, JSON_VALUE, max_size=4), subject=ANY_TEXT)
def test_an_identity_from_the_provider_holds_only_text_that_can_be_kept(claims: dict[str, Any], subject: str):
    try:
        identity = VerifiedIdentity("https://idp.test", subject, claims)
    except IdentityRejected as rejected:
        assert is_storable(rejected.reason)
        assert not (is_one_line(subject) and keepable(claims))
        return
    assert is_one_line(identity.subject) and keepable(identity.claims)


@PROPERTY
@given(
    claims=st.dictionaries(
        st.sampled_from(["given_name", "family_name", "email", "phone", "title", "salutation"]), JSON_VALUE, max_size=6
    )
)
def test_mapped_claims_are_one_line_of_storable_text_or_the_identity_is_refused(claims: dict[str, Any]):
    mappings = DEFAULT_CLAIM_MAPPINGS + (
        ClaimMapping(ProfileField.PHONE, "phone"),
        ClaimMapping(ProfileField.JOB_TITLE, "title"),
        ClaimMapping(ProfileField.SALUTATION, "salutation", (("Herr", "male"),)),
    )
    try:
        VerifiedIdentity("https://idp.test", "sub", claims)
        profile = ClaimMapper(mappings).profile_from(claims)
    except IdentityRejected:
        return
    assert all(value is None or is_one_line(value) for value in profile.values())


def test_a_mapped_claim_with_a_control_character_is_refused_naming_the_claim():
    with pytest.raises(IdentityRejected, match="the family_name claim cannot be the last name"):
        ClaimMapper().profile_from({"given_name": "Ann", "family_name": "Smith\x1b[0m"})


@PROPERTY
@given(ANY_TEXT)
def test_a_value_map_holds_one_line_values_or_is_refused(text: str):
    try:
        pairs = parse_value_map(text)
    except InvalidValue as refused:
        assert refused.field == "value_map"
        return
    assert all(is_one_line(source) and is_one_line(target) for source, target in pairs)


@PROPERTY
@given(st.dictionaries(st.sampled_from(list(ProviderSettings.__dataclass_fields__)), ANY_TEXT, min_size=1))
def test_provider_settings_of_any_text_get_problems_never_an_exception(values: dict[str, Any]):
    defaults = {
        "display_name": "Contoso",
        "client_id": "c",
        "issuer": "https://idp.test",
        "authorization_endpoint": "https://idp.test/a",
        "token_endpoint": "https://idp.test/t",
        "jwks_uri": "https://idp.test/k",
        "userinfo_endpoint": "https://idp.test/u",
    }
    values.pop("enabled", None)
    settings_ = ProviderSettings(**{**defaults, **values})
    problems = settings_.problems(development=True)
    for name in ("display_name", "client_id", "subject_field", "email_field", "given_name_field", "family_name_field"):
        if not is_one_line(getattr(settings_, name)):
            assert "must be one line" in problems[name]
    for name in settings_.url_fields:
        if name not in problems:
            assert getattr(settings_, name).isascii() and is_one_line(getattr(settings_, name))


@PROPERTY
@given(ANY_TEXT)
def test_any_text_as_a_url_gets_an_answer_never_an_exception(text: str):
    for url in (text, "https://" + text, "http://[" + text, "https://idp.test/" + text):
        problem = url_problem(url, development=True)
        assert problem is None or is_one_line(problem)


@pytest.mark.parametrize("name", ["Contoso\r\nBcc: x@evil.test", "Contoso\nID", "Contoso\u2028ID"])
def test_a_mail_subject_is_one_line_whatever_name_it_carries(name: str):
    now = datetime(2030, 1, 1, tzinfo=timezone.utc)
    tenant = Tenant("acme", "Acme Practice")
    ann = Practitioner.register(tenant, "ann@acme.test", "Ann", "Smith", now)
    message = link_code_letter(tenant, "123456", name, 10).written(ann.email, ann.first_name, tenant.name, str)
    assert is_one_line(message.subject)


def test_one_url_length_limit_holds_for_what_admins_enter_and_what_the_server_fetches():
    longest = "https://idp.test/" + "x" * (MAX_URL_LENGTH - len("https://idp.test/"))
    assert url_shape_problem(longest) is None
    assert url_problem(longest, development=False) is None
    assert url_shape_problem(longest + "x") == f"the address is longer than {MAX_URL_LENGTH} characters"
    assert url_problem(longest + "x", development=False) is not None


@pytest.mark.parametrize(
    "url", ["https://idp.test/a b", "https://idp.test/\x85", "https://idp.test/\tx", "https://idp.test/\u2028"]
)
def test_a_url_with_spaces_or_control_characters_is_refused(url: str):
    assert url_shape_problem(url) == "the address has spaces or control characters"
