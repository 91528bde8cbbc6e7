"""Tenancy: a practice, its login policy, and how it is opened."""
