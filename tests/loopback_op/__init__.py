"""A real OpenID Provider on 127.0.0.1 for the contract and end-to-end tests, with hostile switches.

How a test uses it::

    with LoopbackProvider() as op:                      # or op.start() ... op.stop()
        op.register_client("portal", "s3cret", "http://acme.portal.test/sso/callback")
        op.login_as("u-42", email="ada@acme.test", email_verified=True, given_name="Ada")
        ...configure the tenant with op.issuer, drive the browser to the callback...
        op.expire_id_token()                             # the next token response is expired
        ...the login must now fail...
        assert op.hits["/jwks"] == 1 and op.cookies["/token"] == []
        op.reset()                                       # well-behaved again, recorders cleared

The modules, each with one reason to change:
- ``server``: serving a WSGI answer on loopback in threads, start/stop, the log of requests;
- ``provider``: ``LoopbackProvider``, pyoidc's Provider wired up (clients, users, PKCE, endpoints);
- ``switches``: each hostile behaviour (alg none, key confusion, wrong iss/aud, slow or huge answers...);
- ``protocol``: what the last two share (endpoint paths, signing keys, base64url).
"""
