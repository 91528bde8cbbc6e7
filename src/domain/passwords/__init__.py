"""Passwords: logging in with one, and the mailed links that set one."""
