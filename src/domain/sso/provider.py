"""An identity provider of a practice: the settings an admin enters, and the rules on them."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from urllib.parse import urlsplit

from domain.errors import InvalidValue, N_
from domain.identifiers import new_id
from domain.practitioners.email import normalize_email
from domain.text import is_one_line, not_one_line, url_shape_problem


TOKEN_AUTH_METHODS = ("client_secret_basic", "client_secret_post")

# How a changed setting is named in the audit log, in the words of the admin form.
SETTING_LABELS = {
    "display_name": N_("button text"),
    "client_id": N_("client id"),
    "issuer": N_("issuer"),
    "authorization_endpoint": N_("authorization endpoint"),
    "token_endpoint": N_("token endpoint"),
    "jwks_uri": N_("JWKS URI"),
    "userinfo_endpoint": N_("userinfo endpoint"),
    "token_endpoint_auth_method": N_("token endpoint authentication"),
    "enabled": N_("enabled"),
    "protocol": N_("protocol"),
    "subject_field": N_("foreign id field"),
    "email_field": N_("email field"),
    "given_name_field": N_("first name field"),
    "family_name_field": N_("last name field"),
    "extra_scopes": N_("extra scopes"),
    "domain_hint": N_("domain hint"),
    "send_login_hint": N_("login hint"),
    "end_session_endpoint": N_("end-session endpoint"),
    "logout_at_provider": N_("logout at the provider"),
    "backchannel_logout_supported": N_("back-channel logout support"),
}

REQUIRED = N_("this field is required")

PROVIDER_URL_FIELDS = (
    "issuer",
    "authorization_endpoint",
    "token_endpoint",
    "jwks_uri",
    "userinfo_endpoint",
)

PROTOCOLS = ("oidc", "oauth2")

# What a plain OAuth 2.0 provider does not have: stored empty, never checked or fetched.
OIDC_ONLY_FIELDS = ("issuer", "jwks_uri")

USERINFO_FIELD_NAMES = ("subject_field", "email_field", "given_name_field", "family_name_field")

# What every authorization request asks for; an admin's extra scopes come on top.
# Plain OAuth 2.0 servers often refuse the unknown scope "openid".
BASE_SCOPES = {"oidc": ("openid", "email", "profile"), "oauth2": ("email", "profile")}
MAX_EXTRA_SCOPES = 20
MAX_EXTRA_SCOPES_LENGTH = 400
# RFC 6749 3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E ), printable ASCII but space, " and \
SCOPE_TOKEN_CHARACTERS = frozenset(chr(c) for c in range(0x21, 0x7F)) - {'"', "\\"}
MAX_DOMAIN_LENGTH = 253
DOMAIN_LABEL_CHARACTERS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789-")


def is_local_host(host: str) -> bool:
    """Loopback and ``*.localhost``: usable over plain http in development only."""
    host = host.lower().rstrip(".")
    return host in {"localhost", "127.0.0.1", "::1"} or host.endswith(".localhost") or host.startswith("127.")


def _origin(url: str) -> tuple[str, str, int | None]:
    """Scheme, host and port: who answers at a URL, whatever its path."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:  # not a URL the form would accept (an unclosed [IPv6 literal, say); compare it as it is
        return (url, "", None)
    return (parts.scheme.lower(), (parts.hostname or "").rstrip("."), port)


def url_problem(url: str, development: bool) -> str | None:
    """What is wrong with an admin-entered URL's form, or None. Reachability is checked apart."""
    if not url:
        return REQUIRED
    if url_shape_problem(url):
        return N_("enter a single URL without spaces or control characters")
    if not url.isascii():  # it becomes a Location header, which carries ASCII only
        return N_("enter the URL in ASCII: a domain name in its xn-- form, other characters percent-encoded")
    full_url = N_("enter a full URL, such as https://login.example.com/...")
    try:
        parts = urlsplit(url)
        hostname = parts.hostname
    except ValueError:  # such as an unclosed [IPv6 literal
        return full_url
    if parts.scheme not in {"https", "http"} or not hostname:
        return full_url
    if parts.username or parts.password:
        return N_("a URL with a user name or password in it is not accepted")
    if parts.scheme == "http" and not (development and is_local_host(hostname)):
        return N_("the URL must start with https://")
    if parts.fragment:
        return N_("a URL with a #fragment is not accepted")
    return None


@dataclass(frozen=True)
class ProviderSettings:
    """What an admin enters for one OpenID Connect provider, except the client secret."""

    display_name: str
    client_id: str
    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    userinfo_endpoint: str
    token_endpoint_auth_method: str = "client_secret_basic"
    enabled: bool = True
    # "oidc", or "oauth2" for a plain OAuth 2.0 provider: no ID token, no issuer, no JWKS;
    # the userinfo answer's fields named below stand in for the standard claims.
    protocol: str = "oidc"
    subject_field: str = "sub"
    email_field: str = "email"
    given_name_field: str = "given_name"
    family_name_field: str = "family_name"
    # Space-separated scopes requested beside BASE_SCOPES, such as groups (Okta) or api://x/read.
    extra_scopes: str = ""
    # Sent as domain_hint= (Entra ID skips its home-realm discovery with it); empty: not sent.
    domain_hint: str = ""
    # Whether the email a practitioner typed on the login page goes along as login_hint=.
    send_login_hint: bool = False
    # OpenID Connect RP-Initiated Logout: where logout sends the browser (empty: logout stays
    # local), whether it does, and whether discovery said the provider sends back-channel logouts.
    end_session_endpoint: str = ""
    logout_at_provider: bool = False
    backchannel_logout_supported: bool = False

    def problems(self, development: bool) -> dict[str, str]:
        errors: dict[str, str] = {}
        if not self.display_name.strip():
            errors["display_name"] = N_("enter the name shown on the button")
        elif len(self.display_name) > 80:
            errors["display_name"] = N_("the name has at most %(limit)s characters", limit=80)
        if not self.client_id.strip():
            errors["client_id"] = REQUIRED
        elif len(self.client_id) > 255:
            errors["client_id"] = N_("the client id has at most %(limit)s characters", limit=255)
        if self.protocol not in PROTOCOLS:
            errors["protocol"] = N_("choose OpenID Connect or OAuth 2.0")
        for name in self.url_fields:
            problem = url_problem(getattr(self, name), development)
            if problem:
                errors[name] = problem
        if "issuer" in self.url_fields and "issuer" not in errors and urlsplit(self.issuer).query:
            errors["issuer"] = N_("an issuer has no ?query part")
        if self.token_endpoint_auth_method not in TOKEN_AUTH_METHODS:
            errors["token_endpoint_auth_method"] = N_("choose client_secret_basic or client_secret_post")
        for name in USERINFO_FIELD_NAMES:
            value = getattr(self, name)
            if self.protocol == "oauth2" and not value.strip():
                errors[name] = N_("name the userinfo field")
            elif len(value) > 100:
                errors[name] = N_("a field name has at most %(limit)s characters", limit=100)
        # The button text is also the subject line of the link code mail: a line break there
        # would end the mail header.
        for name in ("display_name", "client_id", *USERINFO_FIELD_NAMES):
            if not is_one_line(getattr(self, name)):
                errors[name] = not_one_line(SETTING_LABELS[name])
        checked = (
            ("extra_scopes", self._scopes_problem()),
            ("domain_hint", self._domain_hint_problem()),
            ("end_session_endpoint", self._end_session_problem(development)),
        )
        for name, problem in checked:
            if problem:
                errors[name] = problem
        return errors

    def _scopes_problem(self) -> str | None:
        tokens = [token for token in self.extra_scopes.split(" ") if token]
        if any(not set(token) <= SCOPE_TOKEN_CHARACTERS for token in tokens):
            return N_(
                "separate scopes with spaces; a scope has letters, digits and punctuation only, "
                "without quotes, backslashes or other characters"
            )
        if len(tokens) > MAX_EXTRA_SCOPES:
            return N_("at most %(limit)s extra scopes", limit=MAX_EXTRA_SCOPES)
        if len(self.extra_scopes) > MAX_EXTRA_SCOPES_LENGTH:
            return N_("the extra scopes have at most %(limit)s characters together", limit=MAX_EXTRA_SCOPES_LENGTH)
        return None

    def _end_session_problem(self, development: bool) -> str | None:
        """Optional; a browser is sent there, the server never fetches it, so only its form counts."""
        if self.end_session_endpoint:
            return url_problem(self.end_session_endpoint, development)
        if self.logout_at_provider:
            return N_("enter the end-session endpoint to log out at the provider too")
        return None

    @property
    def logs_out_at_provider(self) -> bool:
        """Whether logout sends the browser on to the provider's end-session endpoint."""
        return self.protocol == "oidc" and self.logout_at_provider and bool(self.end_session_endpoint)

    def _domain_hint_problem(self) -> str | None:
        if not self.domain_hint:
            return None
        labels = self.domain_hint.split(".")
        well_formed = all(
            0 < len(label) <= 63 and set(label) <= DOMAIN_LABEL_CHARACTERS and label[0] != "-" and label[-1] != "-"
            for label in labels
        )
        if not well_formed or labels[-1].isdigit() or len(self.domain_hint) > MAX_DOMAIN_LENGTH:
            return N_(
                "enter a domain name such as practice.example: letters, digits and hyphens between dots "
                "(an international name in its xn-- form), at most %(limit)s characters",
                limit=MAX_DOMAIN_LENGTH,
            )
        return None

    @property
    def scope(self) -> str:
        """The scope parameter of the authorization request: the base scopes and the extra ones."""
        return " ".join((*BASE_SCOPES.get(self.protocol, BASE_SCOPES["oidc"]), *self.extra_scopes.split()))

    def login_hint(self, typed: str | None) -> str | None:
        """What goes to the provider as login_hint=: the email a practitioner typed, in its stored
        form, when this provider is to get it and it is an email address; never anything else."""
        if not self.send_login_hint or not typed:
            return None
        try:
            return normalize_email(typed)
        except InvalidValue:
            return None

    @property
    def url_fields(self) -> tuple[str, ...]:
        """The URLs this kind of provider has: checked at save time and fetched at sign-in."""
        if self.protocol == "oauth2":
            return tuple(name for name in PROVIDER_URL_FIELDS if name not in OIDC_ONLY_FIELDS)
        return PROVIDER_URL_FIELDS

    def filled_from(self, found: DiscoveredConfiguration) -> ProviderSettings:
        """These settings with the endpoints discovery found; an end-session endpoint the provider
        does not publish keeps what was entered."""
        return replace(
            self,
            issuer=found.issuer,
            authorization_endpoint=found.authorization_endpoint,
            token_endpoint=found.token_endpoint,
            jwks_uri=found.jwks_uri,
            userinfo_endpoint=found.userinfo_endpoint,
            token_endpoint_auth_method=found.preferred_auth_method,
            end_session_endpoint=found.end_session_endpoint or self.end_session_endpoint,
            backchannel_logout_supported=found.backchannel_logout_supported,
        )

    def normalized(self) -> ProviderSettings:
        """As stored: a plain OAuth 2.0 provider keeps no issuer and no JWKS URI; the extra scopes
        without repeats and without the base scopes; the domain hint in lower case."""
        base = BASE_SCOPES.get(self.protocol, ())
        extra = dict.fromkeys(token for token in self.extra_scopes.split(" ") if token and token not in base)
        folded = replace(self, extra_scopes=" ".join(extra), domain_hint=self.domain_hint.lower().rstrip("."))
        if self.protocol == "oauth2":  # OIDC_ONLY_FIELDS, and no logout without an ID token
            return replace(
                folded,
                issuer="",
                jwks_uri="",
                end_session_endpoint="",
                logout_at_provider=False,
                backchannel_logout_supported=False,
            )
        return folded


@dataclass(eq=False)
class IdentityProvider:
    """One OpenID Connect provider of a tenant: its settings, and its client secret kept sealed."""

    tenant_id: str
    settings: ProviderSettings
    sealed_client_secret: str
    id: str = field(default_factory=new_id)

    @property
    def display_name(self) -> str:
        """The name people see on buttons, in mails and in the audit log: read almost everywhere."""
        return self.settings.display_name

    @property
    def identity_issuer(self) -> str:
        """The issuer half of the identity key; a plain OAuth 2.0 provider has none of its own."""
        return self.settings.issuer if self.settings.protocol == "oidc" else f"oauth2:{self.id}"

    def trust_changes(self, settings: ProviderSettings) -> list[str]:
        """What in the new settings changes who vouches for an identity, in the form's words.

        Each is a change of trust: an identity confirmed under the old settings must be
        confirmed again. The issuer and client id name the identity; the hosts that answer
        the token request and serve the keys decide what a token says (a plain OAuth 2.0
        provider's identity comes from its userinfo answer, so that host counts there too).
        """
        old = self.settings
        changes = [name for name in ("issuer", "client_id") if getattr(old, name) != getattr(settings, name)]
        hosted = ("token_endpoint", "jwks_uri", "userinfo_endpoint" if settings.protocol == "oauth2" else "")
        changes += [name for name in hosted if name and _origin(getattr(old, name)) != _origin(getattr(settings, name))]
        # a plain OAuth 2.0 provider's foreign id is whatever this userinfo field holds
        if settings.protocol == "oauth2" and old.subject_field != settings.subject_field:
            changes.append("subject_field")
        return [SETTING_LABELS[name] for name in changes]

    def apply(self, settings: ProviderSettings) -> list[str]:
        """Takes the new settings whole; returns what changed, in the admin form's words."""
        before, after = asdict(self.settings), asdict(settings)
        self.settings = settings
        return [
            N_("%(setting)s changed", setting=SETTING_LABELS[name]) for name in after if before[name] != after[name]
        ]

    def enable(self) -> None:
        self.settings = replace(self.settings, enabled=True)

    def disable(self) -> None:
        self.settings = replace(self.settings, enabled=False)


@dataclass(frozen=True)
class DiscoveredConfiguration:
    """The part of a provider's openid-configuration document the portal uses."""

    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    userinfo_endpoint: str
    token_endpoint_auth_methods_supported: tuple[str, ...] = ()
    end_session_endpoint: str = ""  # RP-Initiated Logout 1.0; empty when not published
    backchannel_logout_supported: bool = False  # Back-Channel Logout 1.0

    @property
    def preferred_auth_method(self) -> str:
        supported = self.token_endpoint_auth_methods_supported
        if supported and "client_secret_basic" not in supported and "client_secret_post" in supported:
            return "client_secret_post"
        return "client_secret_basic"
