"""practitioners: every email in the one stored form of the email rule (README, "Email addresses")

Rows were stored lower-cased by str.lower() under a permissive pattern. Plain ASCII addresses
are unchanged; a non-ASCII domain becomes its IDNA A-labels (xn--...). An address the rule
refuses cannot be converted: the upgrade stops and names it, for the operator to correct
with the previous version, since mail must never go to a list or a look-alike.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-25
"""

import hashlib
import string
import unicodedata
from collections import Counter

import idna
import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

# Frozen copies of the domain's rules as they were when this migration was written.
_ATEXT = frozenset(string.ascii_letters + string.digits + "!#$%&'*+-/=?^_`{|}~")
_FOLD_ASCII = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)


class UnconvertibleEmails(RuntimeError):
    """Stored emails that the email rule refuses, or that would become another's address."""


def _stored_form(email: str) -> str:
    local, at, domain = email.partition("@")
    if not at or "@" in domain or not local or len(local) > 64:
        raise ValueError(email)
    if (
        any(c not in _ATEXT and c != "." for c in local)
        or local.startswith(".")
        or local.endswith(".")
        or ".." in local
    ):
        raise ValueError(email)
    labels = domain.split(".")
    if len(labels) < 2 or not all(labels):
        raise ValueError(email)
    try:
        for c in domain:
            if not c.isascii() and any(m.isascii() for m in idna.uts46_remap(c, std3_rules=True) or "x"):
                raise ValueError(email)
        stored = idna.encode(idna.uts46_remap(domain.translate(_FOLD_ASCII), std3_rules=True), strict=True).decode(
            "ascii"
        )
    except idna.IDNAError:
        raise ValueError(email) from None
    if stored.rpartition(".")[2].isdigit():
        raise ValueError(email)
    address = f"{local.translate(_FOLD_ASCII)}@{stored}"
    if len(address) > 254:
        raise ValueError(email)
    return address


def _user_name_key(user_name: str) -> str:
    folded = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", user_name).casefold())
    return hashlib.sha256(folded.encode("utf-8", "surrogatepass")).hexdigest()


def upgrade() -> None:
    practitioners = sa.table(
        "practitioners",
        sa.column("id"),
        sa.column("tenant_id"),
        sa.column("email"),
        sa.column("user_name"),
        sa.column("user_name_key"),
    )
    c = practitioners.c
    connection = op.get_bind()
    rows = connection.execute(sa.select(c.id, c.tenant_id, c.email, c.user_name).order_by(c.tenant_id, c.id)).all()
    refused, changes = [], []
    for row in rows:
        try:
            stored = _stored_form(row.email)
        except ValueError:
            refused.append(f"tenant {row.tenant_id}: {row.email!r} (id {row.id})")
            continue
        if stored != row.email:
            changes.append((row, stored))
    final = {row.id: row.email for row in rows} | {row.id: stored for row, stored in changes}
    tenants = {row.id: row.tenant_id for row in rows}
    taken = Counter((tenants[pid], email) for pid, email in final.items())
    refused += [
        f"tenant {row.tenant_id}: {row.email!r} would become {stored!r}, which another practitioner has"
        for row, stored in changes
        if taken[(row.tenant_id, stored)] > 1
    ]
    if refused:
        raise UnconvertibleEmails(
            "these stored emails are not valid under the email rule: "
            + "; ".join(refused)
            + ". Correct them with the previous version (admin page or SCIM), then upgrade again."
        )
    for row, stored in changes:
        values = {"email": stored}
        if row.user_name is None:  # such a practitioner's SCIM userName is their email
            values["user_name_key"] = _user_name_key(stored)
        connection.execute(sa.update(practitioners).where(c.id == row.id).values(**values))


def downgrade() -> None:
    """Nothing to undo: the A-label form is a valid address under the old pattern too."""
