"""Provisioning over SCIM 2.0: bearer tokens and users."""
