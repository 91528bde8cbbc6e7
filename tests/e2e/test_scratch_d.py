from __future__ import annotations
import json
from tests.e2e.conftest import Portal
from tests.e2e.test_scim import Scim, create_token, USER
from tests.e2e.sso import Sso, op, sso  # noqa

SR = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"

def show(label, fn):
    try:
        r = fn()
        print(label, r.status, r.headers.get("Location", ""))
    except Exception as e:
        print(label, "EXC", type(e).__name__, str(e)[:100])

def test_repro(portal: Portal) -> None:
    portal.open_tenant("acme")
    b = portal.browser()
    for path in ["/login?x=%FF", "/%FF", "/login?next=%FF", "/admin/practitioners?q=%FF", "/sso/%00/start", "/password/reset/%FF"]:
        show(path, lambda: b.get(path, expect_errors=True))
    show("cookie", lambda: b.get("/login", headers={"Cookie": "portal_session=\xff"}, expect_errors=True))
    show("post latin1", lambda: b.post("/login", b"email=a", content_type="application/x-www-form-urlencoded; charset=latin-1", expect_errors=True))
    show("multipart noboundary", lambda: b.post("/login", b"xx", content_type="multipart/form-data", expect_errors=True))
    portal.log_in(b, "owner@acme.test")
    for nxt in ["/\u20ac", "/é", "/a\x7fb"]:
        show(repr(nxt), lambda: b.get("/login", {"next": nxt}, expect_errors=True))
    show("provider q nul", lambda: b.get("/admin/authentication?provider=%00", expect_errors=True))
    scim = Scim(portal, "acme", create_token(portal, "acme"))
    for q in ["count=Infinity", "count=NaN", "count=1e400", "count=99999999999999999999999999", "filter=userName%20eq%20%22a%00%22"]:
        show(q, lambda: scim.get("/Users?" + q, status="*"))
    for body in ['{"schemas":["%s"],"count":Infinity}' % SR, '{"schemas":["%s"],"startIndex":-Infinity}' % SR,
                 '{"schemas":["%s"],"count":1.5}' % SR, '{"schemas":["%s"],"count":true}' % SR,
                 '{"schemas":["%s"],"startIndex":NaN}' % SR, '{"schemas":["%s"],"count":1e400}' % SR,
                 '{"schemas":["%s"],"filter":"userName eq \\"\\ud800\\""}' % SR,
                 '{"schemas":["%s"],"filter":"userName eq \\"a\\u0000\\""}' % SR]:
        show(body[60:], lambda: scim.post("/Users/.search", body, status="*"))
    show("surrogate username", lambda: scim.post("/Users", '{"userName":"\\ud800@acme.test"}', status="*"))
    show("nul username", lambda: scim.post("/Users", '{"userName":"a\\u0000b@acme.test"}', status="*"))
    show("nul given", lambda: scim.post("/Users", '{"userName":"x@acme.test","name":{"givenName":"a\\u0000b"}}', status="*"))
    show("surrogate title", lambda: scim.post("/Users", '{"userName":"y@acme.test","title":"\\ud800"}', status="*"))
    show("nul externalId", lambda: scim.post("/Users", '{"userName":"z@acme.test","externalId":"a\\u0000"}', status="*"))
    show("surrogate key", lambda: scim.post("/Users", '{"userName":"w@acme.test","\\ud800":"x"}', status="*"))

def test_claims(sso: Sso, portal: Portal) -> None:
    sso.connect()
    for claims in [dict(given_name="\ud800"), dict(sub_override="a\x00b")]:
        sub = claims.pop("sub_override", "sub-x")
        sso.op.login_as(sub, email="ann@acme.test", email_verified=True, family_name="S", **claims)
        b = portal.browser()
        show(repr(claims) + repr(sub), lambda: sso.log_in(b))

def test_display_name(sso: Sso, portal: Portal) -> None:
    show("display", lambda: sso.connect(name="Contoso\r\nBcc: x@evil.test"))
    b = portal.browser()
    show("login", lambda: sso.log_in(b))
    show("link", lambda: sso.request_code(b, "ann@acme.test"))
    print(portal.mails())
