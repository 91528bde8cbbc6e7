"""The one email rule: what is one address, its stored form, and that every path compares by it."""

from __future__ import annotations

import string
import unicodedata

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from domain.sso.claims import ClaimMapper
from domain.errors import InvalidValue, LoginFailed
from domain.sso.matching import ConfirmByCode, LinkByVerifiedEmail
from domain.tenancy.tenant import DEFAULT_CLAIM_MAPPINGS
from domain.provisioning.scim_user import ScimQuery, ScimUser
from domain.practitioners.email import MAX_EMAIL_LENGTH, MAX_LOCAL_PART_LENGTH, normalize_email, same_mailbox
from domain.practitioners.profile import ProfileField
from domain.tenancy.tenant import UnknownIdentityHandling

KELVIN = "\u212a"  # KELVIN SIGN: str.lower() and NFKC both turn it into an ASCII k
ATEXT = string.ascii_letters + string.digits + "!#$%&'*+-/=?^_`{|}~"
PASSWORD = "correct horse battery"


def refusal(raw: str) -> str:
    with pytest.raises(InvalidValue) as refused:
        normalize_email(raw)
    assert refused.value.field == "email"
    return refused.value.message


# --- examples ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw, stored",
    [
        ("ann@x.test", "ann@x.test"),
        ("  Ann.Smith@Practice.EXAMPLE ", "ann.smith@practice.example"),  # ASCII A-Z folded, spaces around dropped
        ("o'Brien+Tag@x.test", "o'brien+tag@x.test"),  # atext beyond letters and digits
        ("ann@MÜLLER.de", "ann@xn--mller-kva.de"),  # an IDN domain is stored as its A-labels
        ("ann@xn--mller-kva.de", "ann@xn--mller-kva.de"),
        ("ann@XN--MLLER-KVA.DE", "ann@xn--mller-kva.de"),
        ("ann@日本.jp", "ann@xn--wgv71a.jp"),
    ],
)
def test_an_address_is_stored_with_ascii_folded_and_its_domain_as_a_labels(raw, stored):
    assert normalize_email(raw) == stored


def test_two_spellings_of_one_idn_domain_name_one_mailbox():
    assert same_mailbox("ann@MÜLLER.de", "ann@xn--mller-kva.de")
    assert same_mailbox("ANN@müller.DE", "ann@Müller.de")
    assert not same_mailbox("ann@müller.de", "ann@muller.de")


def test_a_kelvin_sign_before_the_at_is_refused_and_never_matches_an_ascii_k():
    assert f"{KELVIN}ate@acme.test".lower() == "kate@acme.test"  # what the old rule stored
    assert "non-ASCII" in refusal(f"{KELVIN}ate@acme.test")
    assert not same_mailbox(f"{KELVIN}ate@acme.test", "kate@acme.test")


def test_a_kelvin_sign_in_the_domain_is_refused_not_mapped_to_k():
    assert "U+212A" in refusal(f"kate@{KELVIN}cme.test")
    assert "U+FF41" in refusal("kate@\uff41cme.test")  # FULLWIDTH LATIN SMALL LETTER A


@pytest.mark.parametrize(
    "raw, reason",
    [
        ("x,attacker@evil.test", "not a list"),
        ("ann@x.test, bob@y.test", "not a list"),
        ("ann@x.test;bob@y.test", "not a list"),
        ('"Ann" <ann@x.test>', "without a name"),
        ("Ann<ann@x.test>", "without a name"),
        ('"ann smith"@x.test', "without a name, quotes"),
        ('"ann"@x.test', "quotes"),
        ("ann(comment)@x.test", "comments"),
        ("ann@x.test\r\nBcc: eve@evil.test", "line breaks"),
        ("ann@x.test\n", "line breaks"),
        ("ann\r@x.test", "line breaks"),
        ("ann\x00@x.test", "cannot be stored"),
        ("ann@x.test\x00", "cannot be stored"),
        ("ann\t@x.test", "tabs"),
        ("\tann@x.test", "tabs"),
        ("ann @x.test", "spaces"),
        ("ann\u200b@x.test", "invisible"),  # ZERO WIDTH SPACE
        ("ann@x.test\ud800", "cannot be stored"),  # a lone surrogate
        ("ann\u00a0@x.test", "spaces"),  # NO-BREAK SPACE
        ("ann@x.test\u2028", "one line"),  # LINE SEPARATOR
        ("ann", "such as name@practice.example"),
        ("a@b@x.test", "exactly one @"),
        ("@x.test", "a name before the @"),
        ("ann@", "after the @ a domain name"),
        ("ann@localhost", "after the @ a domain name"),
        ("ann@x..test", "after the @ a domain name"),
        ("ann@x.test.", "after the @ a domain name"),
        ("ann@-x.test", "no hyphen first or last"),
        ("ann@x-.test", "no hyphen first or last"),
        ("ann@x_y.test", "after the @ a domain name"),
        ("ann@192.0.2.1", "after the @ a domain name"),
        ("ann@[192.0.2.1]", "after the @ a domain name"),
        (".ann@x.test", "dot is never first"),
        ("ann.@x.test", "dot is never first, last"),
        ("a..nn@x.test", "doubled"),
        ("jürgen@x.de", "non-ASCII"),
        ("ann\\@x.test", "only a-z"),
        ("", "enter an email address"),
        ("   ", "enter an email address"),
    ],
)
def test_anything_but_one_bare_address_is_refused_with_the_reason(raw, reason):
    assert reason in refusal(raw)


def test_the_local_part_has_at_most_64_characters():
    assert normalize_email("a" * MAX_LOCAL_PART_LENGTH + "@x.test")
    assert "at most 64 characters before the @" in refusal("a" * (MAX_LOCAL_PART_LENGTH + 1) + "@x.test")


def test_the_stored_address_has_at_most_254_characters():
    domain = ".".join(["d" * 63, "d" * 63, "d" * 57, "test"])  # 188 characters
    longest = "a" * (MAX_EMAIL_LENGTH - len(domain) - 1) + "@" + domain
    assert len(longest) == MAX_EMAIL_LENGTH and normalize_email(longest) == longest
    assert "at most 254 characters" in refusal("a" + longest)


def test_the_length_limit_counts_the_stored_a_labels_not_the_typed_u_labels():
    domain = ".".join(
        ["日本語ドメイン", "d" * 63, "d" * 63, "d" * 40, "test"]
    )  # the first label is 25 characters as xn--
    typed = "a" * 64 + "@" + domain
    stored_domain = normalize_email("a@" + domain).split("@")[1]
    assert len(typed) <= MAX_EMAIL_LENGTH < len("a" * 64 + "@" + stored_domain)
    assert "at most 254 characters" in refusal(typed)


# --- properties --------------------------------------------------------------------------

_dot_atom = st.lists(st.text(ATEXT, min_size=1, max_size=8), min_size=1, max_size=3).map(".".join)
_label = st.lists(st.text(string.ascii_letters + string.digits, min_size=1, max_size=6), min_size=1, max_size=2).map(
    "-".join
)
_top = st.text(string.ascii_letters, min_size=2, max_size=6)
_domain = st.builds(lambda labels, top: ".".join([*labels, top]), st.lists(_label, min_size=1, max_size=3), _top)
addresses = st.builds(lambda local, domain: f"{local}@{domain}", _dot_atom, _domain)

# Text that is often nearly an address: pieces of addresses, separators and odd characters.
_pieces = st.sampled_from(
    [
        "ann",
        "ANN",
        "@",
        ".",
        "x.test",
        "Müller.de",
        "xn--mller-kva",
        ",",
        ";",
        " ",
        "\t",
        "\r\n",
        "\x00",
        '"',
        "<",
        ">",
        "(",
        ")",
        "\\",
        KELVIN,
        "\u0130",
        "\u00df",
        "\u200b",
        "\uff41",
        "-",
        "+",
        "'",
    ]
)
nearly_addresses = st.one_of(
    addresses,
    st.lists(st.one_of(_pieces, st.text(max_size=3)), max_size=8).map("".join),
    st.builds(lambda a, i, c: a[:i] + c + a[i:], addresses, st.integers(0, 40), st.one_of(_pieces, st.characters())),
    st.text(),
)


def accepted(raw: str) -> str | None:
    try:
        return normalize_email(raw)
    except InvalidValue:
        return None


def swap_ascii_case(text: str, flips: list[bool]) -> str:
    return "".join(c.swapcase() if c.isascii() and flip else c for c, flip in zip(text, flips + [False] * len(text)))


@settings(deadline=None)
@given(nearly_addresses)
def test_the_stored_form_is_stored_as_it_is(raw):
    stored = accepted(raw)
    assume(stored is not None)
    assert normalize_email(stored) == stored


@settings(deadline=None)
@given(nearly_addresses)
def test_nothing_accepted_holds_a_list_a_second_at_whitespace_or_a_control_character(raw):
    stored = accepted(raw)
    assume(stored is not None)
    assert stored.isascii() and stored.count("@") == 1
    assert not any(c in ',;"<>()\\ ' or c.isspace() or unicodedata.category(c).startswith("C") for c in stored)
    local, domain = stored.split("@")
    assert 1 <= len(local) <= MAX_LOCAL_PART_LENGTH and len(stored) <= MAX_EMAIL_LENGTH
    assert set(domain) <= set(string.ascii_lowercase + string.digits + ".-")


@settings(deadline=None)
@given(addresses, st.lists(st.booleans()))
def test_ascii_case_never_tells_two_mailboxes_apart(address, flips):
    assert normalize_email(address) == normalize_email(swap_ascii_case(address, flips))


@settings(deadline=None)
@given(nearly_addresses, nearly_addresses)
def test_two_inputs_name_one_mailbox_exactly_when_their_stored_forms_are_equal(a, b):
    stored_a, stored_b = accepted(a), accepted(b)
    assert same_mailbox(a, b) == (stored_a is not None and stored_a == stored_b)
    if a.isascii() and b.isascii() and stored_a is not None and stored_b is not None:
        # For ASCII input the only thing folded is letter case.
        assert (stored_a == stored_b) == (a.strip(" ").lower() == b.strip(" ").lower())


@settings(deadline=None)
@given(addresses, st.characters(min_codepoint=0x80), st.integers(0, 64))
def test_no_non_ascii_character_before_the_at_is_accepted(address, character, at):
    local, domain = address.split("@")
    at = min(at, len(local))
    assert accepted(f"{local[:at]}{character}{local[at:]}@{domain}") is None


@settings(deadline=None)
@given(addresses, st.characters(min_codepoint=0x80), st.integers(0, 64))
def test_a_non_ascii_character_in_the_domain_never_stands_for_ascii(address, character, at):
    """Refused, or part of a domain other than the ASCII one: never dropped or folded into ASCII."""
    local, domain = address.split("@")
    at = min(at, len(domain))
    stored = accepted(f"{local}@{domain[:at]}{character}{domain[at:]}")
    assert stored is None or stored != normalize_email(address)


# --- every path compares by the rule -----------------------------------------------------


def test_a_kelvin_sign_and_the_password_of_kate_do_not_log_in_as_kate(world):
    tenant, _ = world.open_tenant()
    kate = world.practitioner(tenant, "kate@acme.test")
    with pytest.raises(LoginFailed):
        world.login.log_in(tenant, f"{KELVIN}ate@acme.test", PASSWORD, "10.0.0.1")
    assert world.hasher.dummy_verifications == 1  # the same time as for an unknown address
    assert world.login.log_in(tenant, "KATE@acme.test", PASSWORD, "10.0.0.1") is kate


def test_a_verified_kelvin_sign_email_is_not_linked_to_kate(world):
    tenant, _ = world.open_tenant()
    provider = world.connect_provider(tenant)
    kate = world.practitioner(tenant, "kate@acme.test")
    tenant.auth = tenant.auth.but(unknown_identity=UnknownIdentityHandling.LINK_VERIFIED_EMAIL)
    world.signed_in_as("sub-k", email=f"{KELVIN}ate@acme.test", email_verified=True, given_name="K", family_name="K")
    assert world.matcher.match(tenant, provider, world.idp.identity) == ConfirmByCode()
    world.signed_in_as("sub-k", email="Kate@ACME.test", email_verified=True, given_name="K", family_name="K")
    assert world.matcher.match(tenant, provider, world.idp.identity) == LinkByVerifiedEmail(kate)


def test_an_email_claim_is_judged_as_sent():
    mapper = ClaimMapper(DEFAULT_CLAIM_MAPPINGS)
    for claim in ("x,attacker@evil.test", f"{KELVIN}ate@acme.test", "ann@x.test\n"):
        assert mapper.profile_from({"email": claim})[ProfileField.EMAIL] is None
    assert mapper.profile_from({"email": "Ann@MÜLLER.de"})[ProfileField.EMAIL] == "ann@xn--mller-kva.de"


@pytest.mark.parametrize("raw", ["x,attacker@evil.test", '"Ann" <ann@x.test>', "ann@x.test, bob@y.test"])
def test_an_admin_cannot_add_a_list_or_a_display_name(world, raw):
    tenant, owner = world.open_tenant()
    with pytest.raises(InvalidValue) as refused:
        world.directory.add(owner, tenant, raw, "Ann", "Smith")
    assert refused.value.field == "email"
    assert world.directory.search(tenant, "", 1).total == 1 and world.mailer.sent == []


@pytest.fixture
def scim(world):
    """Acme and the authority of a SCIM token its owner made."""
    tenant, owner = world.open_tenant()
    token, _ = world.provisioning_tokens.create(tenant, "Entra", owner)
    return tenant, world.provisioning_tokens.authority_of(tenant, token)


@pytest.mark.parametrize(
    "user_name, email",
    [("ann", "x,attacker@evil.test"), ("x,attacker@evil.test", None), ("ann", f"{KELVIN}ate@acme.test")],
)
def test_scim_refuses_an_email_the_rule_refuses_and_says_why(world, scim, user_name, email):
    tenant, token = scim
    before = world.directory.search(tenant, "", 1).total
    with pytest.raises(InvalidValue) as refused:
        world.provisioning.create(
            tenant, token, ScimUser(user_name=user_name, email=email, given_name="A", family_name="B")
        )
    assert refused.value.field == "emails" and "enter a valid email address" in refused.value.message
    assert world.directory.search(tenant, "", 1).total == before


def test_scim_searches_emails_by_the_mailbox_they_name(world, scim):
    tenant, token = scim
    kate = world.provisioning.create(
        tenant, token, ScimUser(user_name="kate", email="kate@acme.test", given_name="K", family_name="K")
    )

    def found(email: str) -> list[object]:
        return world.provisioning.search(tenant, ScimQuery(email=email), 0, 10)[0]

    assert found(" KATE@Acme.test") == [kate]
    assert found(f"{KELVIN}ate@acme.test") == []
    assert found("kate@acme.test,eve@evil.test") == []
