"""ClaimMapper: claims to profile fields, with value maps; never breaks a login."""

import pytest

from domain.sso.claims import ClaimMapper, parse_value_map, validate_mappings
from domain.errors import InvalidValue
from domain.tenancy.tenant import ClaimMapping, DEFAULT_CLAIM_MAPPINGS
from domain.practitioners.profile import ProfileField as F

SALUTATION = ClaimMapping(F.SALUTATION, "salutation", (("Herr", "male"), ("Frau", "female")))


def mapper(*extra: ClaimMapping) -> ClaimMapper:
    return ClaimMapper(DEFAULT_CLAIM_MAPPINGS + extra)


def test_default_mappings_fill_names_and_email():
    profile = mapper().profile_from({"given_name": "Ann", "family_name": " Smith ", "email": "Ann@X.test"})
    assert profile == {F.FIRST_NAME: "Ann", F.LAST_NAME: "Smith", F.EMAIL: "ann@x.test"}


@pytest.mark.parametrize("value, expected", [("Herr", "male"), ("Frau", "female"), ("Divers", None), ("", None)])
def test_a_value_map_translates_known_values_and_leaves_the_rest_unset(value, expected):
    assert mapper(SALUTATION).profile_from({"salutation": value})[F.SALUTATION] == expected


@pytest.mark.parametrize(
    "claims", [{}, {"salutation": None}, {"salutation": ["Herr"]}, {"salutation": {"a": 1}}, {"salutation": True}]
)
def test_a_missing_or_odd_claim_leaves_the_field_unset(claims):
    assert mapper(SALUTATION).profile_from(claims)[F.SALUTATION] is None


def test_custom_claims_fill_phone_and_job_title_also_from_nested_claims():
    profile = mapper(ClaimMapping(F.PHONE, "phone_number"), ClaimMapping(F.JOB_TITLE, "extension.title")).profile_from(
        {"phone_number": "+31 20 123", "extension": {"title": "Physiotherapist"}}
    )
    assert (profile[F.PHONE], profile[F.JOB_TITLE]) == ("+31 20 123", "Physiotherapist")


def test_a_malformed_email_or_an_overlong_name_is_not_taken():
    profile = mapper().profile_from({"email": "not-an-email", "given_name": "x" * 500})
    assert profile[F.EMAIL] is None and profile[F.FIRST_NAME] is None


def test_registration_needs_first_name_last_name_and_email():
    profile = mapper().profile_from({"given_name": "Ann", "email": "ann@x.test"})
    assert ClaimMapper.missing_for_registration(profile) == [F.LAST_NAME]


def test_value_maps_are_written_one_per_line():
    assert parse_value_map("Herr = male\n\nFrau=female; Divers = diverse") == (
        ("Herr", "male"),
        ("Frau", "female"),
        ("Divers", "diverse"),
    )
    with pytest.raises(InvalidValue):
        parse_value_map("Herr male")


@pytest.mark.parametrize(
    "mappings, field, message",
    [
        (DEFAULT_CLAIM_MAPPINGS + (ClaimMapping(F.PHONE, "bad claim!"),), "mapping-phone", "claim name"),
        (
            DEFAULT_CLAIM_MAPPINGS + (ClaimMapping(F.SALUTATION, "s", (("Herr", "mister"),)),),
            "mapping-salutation",
            "male, female",
        ),
        (
            DEFAULT_CLAIM_MAPPINGS + (ClaimMapping(F.PHONE, "a"), ClaimMapping(F.PHONE, "b")),
            "mapping-phone",
            "one claim only",
        ),
        (DEFAULT_CLAIM_MAPPINGS[:2], "mapping-email", "must come from a claim"),
    ],
)
def test_mappings_are_validated_before_saving(mappings, field, message):
    assert message in validate_mappings(mappings)[field]


def test_the_default_mappings_are_valid():
    assert validate_mappings(DEFAULT_CLAIM_MAPPINGS) == {}
