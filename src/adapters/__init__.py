"""Adapters: the domain's ports implemented with real libraries."""
