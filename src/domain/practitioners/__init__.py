"""Practitioners: the account, its email and profile, who may change whom, and self-service."""
