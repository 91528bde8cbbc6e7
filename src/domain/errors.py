"""Errors the domain raises; the web and CLI layers turn them into messages."""


class DomainError(Exception):
    """Base for every rule the domain refuses to break. ``str(err)`` is user-facing."""


class InvalidValue(DomainError):
    """A value does not satisfy a rule (bad email, empty name, short password)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


class EmailAlreadyRegistered(DomainError):
    def __init__(self, email: str) -> None:
        super().__init__(f"{email} is already registered in this practice")
        self.email = email


class TenantAlreadyExists(DomainError):
    def __init__(self, slug: str) -> None:
        super().__init__(f"an instance called {slug!r} already exists")
        self.slug = slug


class UnknownTenant(DomainError):
    def __init__(self, slug: str) -> None:
        super().__init__(f"there is no instance called {slug!r}")
        self.slug = slug


class UnknownPractitioner(DomainError):
    def __init__(self) -> None:
        super().__init__("that practitioner does not exist in this practice")


class NotAllowed(DomainError):
    """The tenant's policy forbids the action (for example password login under restrict-to-SSO)."""


class InvalidResetToken(DomainError):
    def __init__(self) -> None:
        super().__init__("this link is invalid, already used or expired; ask for a new one")


class LoginFailed(DomainError):
    """Wrong email or password. Deliberately says nothing about which one."""

    def __init__(self) -> None:
        super().__init__("email or password is wrong")


class LoginThrottled(DomainError):
    def __init__(self, minutes: int) -> None:
        super().__init__(
            f"too many failed attempts; wait {minutes} minutes and try again, "
            "or reset your password"
        )
        self.minutes = minutes


class AccountDeactivated(DomainError):
    def __init__(self) -> None:
        super().__init__(
            "your account is deactivated; ask your practice's administrator to reactivate it"
        )
