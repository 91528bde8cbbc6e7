"""An OpenID Provider built on pyoidc's, for development and tests only, never for production.

- ``logout``: RP-Initiated Logout (the end-session request) and Back-Channel Logout (the logout token);
"""
