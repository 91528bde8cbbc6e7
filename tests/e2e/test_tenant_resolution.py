import pytest

from tests.e2e.conftest import BASE_DOMAIN


def test_known_instance_serves_its_login_page(portal):
    portal.open_tenant("acme")
    page = portal.browser("acme").get("/login")
    assert "Log in to Acme Practice" in page.text


def test_port_in_the_host_is_ignored(portal):
    portal.open_tenant("acme")
    browser = portal.browser("acme")
    browser.extra_environ["HTTP_HOST"] = f"acme.{BASE_DOMAIN}:6543"
    assert "Acme Practice" in browser.get("/login").text


def test_host_is_matched_without_regard_to_case(portal):
    portal.open_tenant("acme")
    browser = portal.browser("acme")
    browser.extra_environ["HTTP_HOST"] = f"ACME.{BASE_DOMAIN.upper()}"
    assert "Acme Practice" in browser.get("/login").text


def test_unknown_instance_gets_a_404_page_saying_it_does_not_exist(portal):
    page = portal.browser("nobody").get("/login", status=404)
    assert "The instance “nobody” does not exist" in page.text


def test_deactivated_instance_gets_the_same_404_page(portal, engine):
    portal.open_tenant("acme")
    with engine.begin() as connection:
        connection.exec_driver_sql("UPDATE tenants SET active = false WHERE slug = 'acme'")
    page = portal.browser("acme").get("/login", status=404)
    assert "does not exist" in page.text


@pytest.mark.parametrize("host", ["evil.example", f"acme.{BASE_DOMAIN}.evil.example", "[::1]", "", f"x{BASE_DOMAIN}"])
def test_host_outside_the_base_domain_gets_a_400_page(portal, host):
    browser = portal.browser("acme")
    browser.extra_environ["HTTP_HOST"] = host
    page = browser.get("/login", status=400)
    assert "not served by Practice Portal" in page.text


def test_nested_subdomain_is_refused(portal):
    portal.open_tenant("acme")
    browser = portal.browser("acme")
    browser.extra_environ["HTTP_HOST"] = f"www.acme.{BASE_DOMAIN}"
    browser.get("/login", status=400)


def test_bare_base_domain_shows_a_neutral_platform_page(portal):
    portal.open_tenant("acme")
    page = portal.browser(None).get("/")
    assert "Use the address your practice gave you" in page.text
    assert "Acme" not in page.text


def test_bare_base_domain_has_no_login_page(portal):
    portal.browser(None).get("/login", status=404)


def test_unknown_path_gets_a_friendly_404_page(portal):
    portal.open_tenant("acme")
    page = portal.browser("acme").get("/no/such/page", status=404)
    assert "There is no page at this address" in page.text


@pytest.mark.parametrize("label", ["ac\x00me", "ac_me", "-acme", "acme-", "ac%me"])
def test_a_host_label_that_cannot_be_an_instance_name_is_refused_without_a_lookup(portal, label):
    browser = portal.browser("acme")
    browser.extra_environ["HTTP_HOST"] = f"{label}.{BASE_DOMAIN}"
    browser.get("/login", status=400)


@pytest.mark.parametrize(
    "host",
    [
        f"acme.{BASE_DOMAIN}:6543@evil.example",
        f"acme.{BASE_DOMAIN}:abc",
        f"acme.{BASE_DOMAIN}:",
        f"acme.{BASE_DOMAIN}:0",
        f"acme.{BASE_DOMAIN}:65536",
        f"acme.{BASE_DOMAIN}:6543:6543",
        f"acme.{BASE_DOMAIN}::6543",
        f"acme.{BASE_DOMAIN}/evil.example",
        f"acme.{BASE_DOMAIN}\\evil.example",
        f"acme.{BASE_DOMAIN} evil.example",
        f" acme.{BASE_DOMAIN}",
        f"acme.{BASE_DOMAIN}:6543 ",
        f"evil.example@acme.{BASE_DOMAIN}",
        f"acme.{BASE_DOMAIN}:6543/x",
        f"acme.{BASE_DOMAIN}:٦٥٤٣",
        f"acme.{BASE_DOMAIN}..",
        f"acme..{BASE_DOMAIN}",
    ],
)
def test_a_host_that_is_more_than_a_name_and_a_numeric_port_gets_a_400_page(portal, host):
    portal.open_tenant("acme")
    browser = portal.browser("acme")
    browser.extra_environ["HTTP_HOST"] = host
    page = browser.get("/login", status=400)
    assert "not served by Practice Portal" in page.text
    form_page = browser.post("/password/forgot", {"email": "owner@acme.test"}, status=400)
    assert "not served by Practice Portal" in form_page.text
    assert portal.mails() == []


def test_a_trailing_dot_and_a_valid_port_still_name_the_instance(portal):
    portal.open_tenant("acme")
    browser = portal.browser("acme")
    browser.extra_environ["HTTP_HOST"] = f"acme.{BASE_DOMAIN}.:443"
    assert "Acme Practice" in browser.get("/login").text


def test_a_mailed_link_names_the_tenants_configured_host_whatever_port_the_request_came_on(portal):
    owner = portal.open_tenant("acme")
    browser = portal.browser("acme")
    browser.extra_environ["HTTP_HOST"] = f"ACME.{BASE_DOMAIN}.:6543"
    page = browser.get("/password/forgot")
    (form,) = [f for key, f in page.forms.items() if isinstance(key, int) and "email" in f.fields]
    form["email"] = owner
    form.submit()
    (mail,) = portal.mails()
    assert mail.link().startswith(f"http://acme.{BASE_DOMAIN}/password/reset/")
