"""AuditTrail: the one way every feature writes to the audit log."""

from __future__ import annotations

from domain.audit import AuditKind


def test_an_event_is_stamped_with_its_tenant_and_the_current_time(world):
    tenant, owner = world.open_tenant()
    world.clock.advance(minutes=5)

    world.audit_trail.record(tenant, AuditKind.SETTINGS_CHANGED, "login policy: saved", owner.id)

    event = world.audit.events[-1]
    assert (event.tenant_id, event.kind, event.summary, event.actor_id) == (
        tenant.id,
        AuditKind.SETTINGS_CHANGED,
        "login policy: saved",
        owner.id,
    )
    assert event.at == world.clock.now()


def test_an_event_without_an_actor_names_nobody(world):
    tenant, _owner = world.open_tenant()

    world.audit_trail.record(tenant, AuditKind.LINK_REQUESTED, "code requested: none sent")

    assert world.audit.events[-1].actor_id is None
