"""Server-side browser sessions, stored in the request's own transaction.

The cookie holds a random id; the database keeps only its HMAC digest, the tenant it belongs
to and the practitioner it authenticates. So a session can be rotated at login, ended for
real at logout, ended everywhere when a practitioner is deactivated, and a cookie carried to
another tenant's host finds nothing there.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any, Callable

from pyramid.config import Configurator
from pyramid.interfaces import ISession
from pyramid.request import Request
from pyramid.response import Response
from zope.interface import implementer

from adapters.db.web_sessions import SessionRow, SqlWebSessionStore
from domain.ports import TokenSource
from domain.sso.identity import ProviderSession
from entrypoints.web.tenancy import tenant_or_none
from entrypoints.web.visit import COOKIE_NAME, session_digest

LIFETIME = timedelta(hours=12)
PRACTITIONER_KEY = "practitioner_id"
LOGIN_METHOD_KEY = "login_method"
LIFETIME_KEY = "lifetime_seconds"  # set by shorten(): a session that must end sooner than LIFETIME
_FLASH_KEY = "_flash"


def _mutating(name: str) -> Callable[..., Any]:
    original = getattr(dict, name)

    def method(self: DatabaseSession, *args: Any, **kwargs: Any) -> Any:
        result = original(self, *args, **kwargs)
        self.changed()
        return result

    method.__name__ = name
    return method


@implementer(ISession)
class DatabaseSession(dict[str, Any]):
    def __init__(self, request: Request) -> None:
        super().__init__()
        self._request = request
        self._store = SqlWebSessionStore(request.dbsession)
        self._secure = request.registry.portal_settings.secure_cookies
        self._id: str | None = None
        self._replaced_id: str | None = None  # the id an invalidate() ended, for the rotation
        self._dirty = False
        self._cookie_callback_added = False
        self._invalidated = False
        # The provider the session was opened through, kept in its row's own columns (a back-channel
        # logout finds it there); the ID token only when this request's login brought it.
        self._through: ProviderSession | None = None
        self.new = True
        self._created: datetime = request.now
        stored = request.visit.session if tenant_or_none(request) is not None else None
        if stored is not None:  # the visit read it, for the cookie's id, in this tenant
            dict.update(self, stored.data)
            self._id, self._created, self.new = request.cookies[COOKIE_NAME], stored.created_at, False
            self._through = stored.through

    @property
    def created(self) -> float:
        return self._created.timestamp()

    def _digest(self, raw_id: str) -> str:
        return session_digest(self._request, raw_id)

    def changed(self) -> None:
        if not self._dirty:
            self._dirty = True
            self._request.tm.get().addBeforeCommitHook(self._persist)
        self._ensure_cookie_callback()

    def invalidate(self) -> None:
        """Ends this session; data set afterwards goes to a new session with a new id. The row
        itself is deleted, or rotated to the new id, when the transaction commits."""
        if self._id is not None:
            self._replaced_id = self._replaced_id or self._id
        dict.clear(self)
        self._id = None
        self._through = None
        self._invalidated = True
        self._created = self._request.now
        self.changed()

    __setitem__ = _mutating("__setitem__")
    __delitem__ = _mutating("__delitem__")
    clear = _mutating("clear")
    pop = _mutating("pop")
    popitem = _mutating("popitem")
    setdefault = _mutating("setdefault")
    update = _mutating("update")

    def open_through(self, through: ProviderSession) -> None:
        """Marks a new login's session as opened through an identity provider: a back-channel
        logout finds it by the provider's sid or subject, a logout sends the ID token as hint."""
        self._through = through
        self.changed()

    def provider_session(self) -> ProviderSession | None:
        """The provider this session was opened through, with its ID token (read for this)."""
        through = self._through
        if through is None or through.id_token is not None or self._id is None:
            return through
        return replace(through, id_token=self._store.id_token(self._digest(self._id), self._request.tenant.id))

    def shorten(self, lifetime: timedelta) -> None:
        """Ends this session ``lifetime`` after it began (at its login), if sooner than LIFETIME."""
        self[LIFETIME_KEY] = min(lifetime, LIFETIME).total_seconds()

    def flash(self, msg: str, queue: str = "", allow_duplicate: bool = True) -> None:
        messages = list(self.get(_FLASH_KEY + queue, []))
        if allow_duplicate or msg not in messages:
            messages.append(msg)
        self[_FLASH_KEY + queue] = messages

    def pop_flash(self, queue: str = "") -> list[str]:
        return list(self.pop(_FLASH_KEY + queue, [])) if _FLASH_KEY + queue in self else []

    def peek_flash(self, queue: str = "") -> list[str]:
        return list(self.get(_FLASH_KEY + queue, []))

    def _persist(self) -> None:
        tenant = self._request.tenant
        if tenant is None:
            return
        if self._id is None and not self:
            if self._replaced_id is not None:  # logged out: nothing follows the old session
                self._store.delete(self._digest(self._replaced_id))
            return
        if self._id is None:
            # Expired sessions are purged by the worker's clean-up, never on the login path.
            tokens: TokenSource = self._request.find_service(TokenSource)
            self._id = tokens.new_token(32)
            row = self._row()
            if self._replaced_id is not None:
                self._store.rotate(self._digest(self._replaced_id), self._digest(self._id), tenant.id, row)
            else:
                self._store.save(self._digest(self._id), tenant.id, row, new=True)
            return
        # A session that was ended during this request (by a policy change, say) is not
        # brought back by writing its data.
        self._store.save(self._digest(self._id), tenant.id, self._row(), new=False)

    def _row(self) -> SessionRow:
        return SessionRow(
            self.get(PRACTITIONER_KEY),
            self.get(LOGIN_METHOD_KEY),
            dict(self),
            self._created,
            self._created + timedelta(seconds=self.get(LIFETIME_KEY, LIFETIME.total_seconds())),
            self._through,
        )

    def _ensure_cookie_callback(self) -> None:
        if not self._cookie_callback_added:
            self._cookie_callback_added = True
            self._request.add_response_callback(self._write_cookie)

    def _write_cookie(self, request: Request, response: Response) -> None:
        if self._id is not None:
            response.set_cookie(
                COOKIE_NAME,
                self._id,
                path="/",
                httponly=True,
                secure=self._secure,
                samesite="Lax",
            )
        elif self._invalidated:
            response.delete_cookie(COOKIE_NAME, path="/")


def includeme(config: Configurator) -> None:
    config.set_session_factory(DatabaseSession)
