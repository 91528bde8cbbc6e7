"""Entrypoints: the Pyramid web app, the SCIM API and the operator CLI."""
