"""Where the Single Sign On flow keeps its state in the browser's server-side session: one name
each, for the login views and the admin's test sign-in alike."""

LOGIN_KEY = "sso_login"  # the authorization-code flow in progress (a test sign-in is one too)
LINK_KEY = "sso_link"  # the verified identity waiting for its one-time password
CODE_ASKED_KEY = "sso_link_code_asked"
DISCOVERED_KEY = "sso_discovered"  # an admin's last discovery: whether the provider sends back-channel logouts
LOGOUT_KEY = "sso_logout"  # a logout sent on to the provider: the state its return must bring
