"""Who is asking (the session) and what they may do (ACLs on route factories)."""

from __future__ import annotations

from typing import Any

from pyramid.authorization import ACLHelper, Allow, Authenticated, DENY_ALL, Everyone
from pyramid.config import Configurator
from pyramid.csrf import CookieCSRFStoragePolicy
from pyramid.httpexceptions import HTTPNotFound
from pyramid.request import Request, RequestLocalCache
from pyramid.security import Allowed, Denied

from adapters.db.web_sessions import Visit
from domain.practitioners.practitioner import Practitioner
from domain.ports import PractitionerRepository
from domain.tenancy.policy import TenantAuthPolicy
from domain.practitioners.practitioner import LoginMethod
from domain.practitioners.rights import ModuleRight
from domain.sso.identity import ProviderSession
from entrypoints.web.sessions import LOGIN_METHOD_KEY, PRACTITIONER_KEY
from entrypoints.web.tenancy import tenant_or_none

OWNER = "role:owner"


def right(module: ModuleRight) -> str:
    return f"right:{module.value}"


class PublicPage:
    """The root: the platform page on the bare domain, static files."""

    __acl__: list[tuple[str, str, Any]] = [(Allow, Everyone, "view")]

    def __init__(self, request: Request) -> None:
        pass


class TenantPage(PublicPage):
    """Context of every page that belongs to an instance: there must be one."""

    def __init__(self, request: Request) -> None:
        if request.tenant is None:
            raise HTTPNotFound()


class PractitionerPage(TenantPage):
    __acl__ = [(Allow, Authenticated, "view"), DENY_ALL]


class PractitionersAdmin(TenantPage):
    __acl__ = [
        (Allow, OWNER, "manage_practitioners"),
        (Allow, right(ModuleRight.PRACTITIONERS), "manage_practitioners"),
        DENY_ALL,
    ]


class AuthenticationAdmin(TenantPage):
    __acl__ = [
        (Allow, OWNER, "manage_authentication"),
        (Allow, right(ModuleRight.AUTHENTICATION), "manage_authentication"),
        DENY_ALL,
    ]


def _opened_by(request: Request) -> LoginMethod:
    """How the session was opened; one without a record counts as the weaker, a password."""
    try:
        return LoginMethod(request.session.get(LOGIN_METHOD_KEY))
    except ValueError:
        return LoginMethod.PASSWORD


class SessionSecurityPolicy:
    def __init__(self) -> None:
        # Pyramid asks for the identity several times a request (permits, views, templates).
        self._identities = RequestLocalCache(self._identity)

    def identity(self, request: Request) -> Practitioner | None:
        return self._identities.get_or_create(request)  # type: ignore[no-any-return]

    def _identity(self, request: Request) -> Practitioner | None:
        tenant = tenant_or_none(request)
        if tenant is None:
            return None
        practitioner_id = request.session.get(PRACTITIONER_KEY)
        if not practitioner_id:
            return None
        visit: Visit = request.visit
        practitioner = visit.practitioner  # read with the session, in this tenant
        if practitioner is None or practitioner.id != practitioner_id:  # logged in by this request
            practitioners: PractitionerRepository = request.find_service(PractitionerRepository)
            practitioner = practitioners.get(tenant.id, practitioner_id)
        # A deactivated practitioner's session grants nothing from their next request on, nor
        # does a password session once the practice closed password login. Both kinds are
        # deleted when that happens; this is the second line of defence.
        if practitioner is None or not practitioner.active:
            return None
        if not TenantAuthPolicy.of(tenant).allows_sessions_opened_by(_opened_by(request)):
            return None
        return practitioner

    def authenticated_userid(self, request: Request) -> str | None:
        practitioner = request.identity
        return practitioner.id if practitioner else None

    def permits(self, request: Request, context: Any, permission: str) -> Allowed | Denied:
        principals = [Everyone]
        practitioner = request.identity
        if practitioner is not None:
            principals += [Authenticated, f"practitioner:{practitioner.id}"]
            principals += [right(r) for r in ModuleRight if practitioner.holds(r)]
            if practitioner.is_owner:
                principals.append(OWNER)
        return ACLHelper().permits(context, principals, permission)

    def remember(
        self,
        request: Request,
        userid: str,
        method: LoginMethod = LoginMethod.PASSWORD,
        through: ProviderSession | None = None,
        **kw: Any,
    ) -> list[tuple[str, str]]:
        """Rotates the session: a fixed pre-login session id is worth nothing afterwards.
        ``through``: the identity provider a Single Sign On login came through."""
        request.session.invalidate()
        self._identities.clear(request)
        request.session[PRACTITIONER_KEY] = userid
        request.session[LOGIN_METHOD_KEY] = method.value
        if through is not None:
            request.session.open_through(through)
        return []

    def forget(self, request: Request, **kw: Any) -> list[tuple[str, str]]:
        request.session.invalidate()
        self._identities.clear(request)
        return []


def includeme(config: Configurator) -> None:
    settings = config.registry.portal_settings
    config.set_security_policy(SessionSecurityPolicy())
    config.set_csrf_storage_policy(
        CookieCSRFStoragePolicy(cookie_name="portal_csrf", secure=settings.secure_cookies, httponly=True)
    )
    config.set_default_csrf_options(require_csrf=True)
    config.set_root_factory(PublicPage)
    config.set_default_permission("view")
