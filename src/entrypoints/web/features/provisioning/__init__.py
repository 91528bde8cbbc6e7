"""Provisioning: the admin page for SCIM tokens, and the SCIM API the tokens open."""

from __future__ import annotations

from pyramid.config import Configurator

from domain.provisioning.groups import GroupProvisioning
from domain.provisioning.tokens import ProvisioningTokens
from domain.provisioning.users import Provisioning
from entrypoints.web.factories import add_service
from entrypoints.web.features import add_routes
from entrypoints.web.security import PractitionersAdmin


def includeme(config: Configurator) -> None:
    add_routes(config, PractitionersAdmin, admin_provisioning="/admin/provisioning")
    config.scan(".admin")
    add_service(config, ProvisioningTokens)
    add_service(config, Provisioning)
    add_service(config, GroupProvisioning)
    config.include("entrypoints.scim")
