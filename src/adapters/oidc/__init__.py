"""The OpenID Connect Relying Party: pyoidc's messages and cryptography's signature checks behind a facade.

pyoidc's ``Client`` is not used: it keeps per-login state forever, shares one cookie jar and
one ``requests.Session`` between all users, refetches a JWKS five times on an unknown ``kid``
and empties its keys when that fails. Here every request goes through ``GuardedFetcher``,
keys live in ``KeyCache`` (one store per provider, at most ``sso.key_cache_size`` of them, the
least recently used dropped first), and nothing is kept per login.
"""
