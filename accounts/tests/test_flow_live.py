"""The whole account life cycle over real HTTP against a served app (pytest-django's ``live_server``):
register → verify e-mail (token from the mail) → login → profile → refresh (old refresh now 401) → logout
(refresh now 401), then a password change that revokes refresh and access tokens."""

import re
from urllib.parse import parse_qs, urlparse

import pytest
import requests
from django.core import mail

PASSWORD = "a-much-better-passphrase-91"
NEW_PASSWORD = "another-even-better-passphrase-17"
TIMEOUT = 10


def verification_token_from(body: str) -> str:
    link = re.search(r"https?://\S+/verify-email\?token=\S+", body).group(0)
    return parse_qs(urlparse(link).query)["token"][0]


@pytest.mark.django_db(transaction=True)
def test_account_life_cycle_over_http(live_server):
    api = f"{live_server.url}/api/v1"
    http = requests  # a new connection per request: the test server answers kept-alive ones ~40 ms late

    def post(path, json, token=None):
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return http.post(f"{api}/{path}", json=json, headers=headers, timeout=TIMEOUT)

    def get(path, token):
        return http.get(f"{api}/{path}", headers={"Authorization": f"Bearer {token}"}, timeout=TIMEOUT)

    # Register: 201, not verified yet, a verification mail once the transaction committed.
    response = post(
        "auth/register/",
        {"email": "Ada@Example.com", "password": PASSWORD, "full_name": "Ada Lovelace", "organization_name": "Engines"},
    )
    assert response.status_code == 201, response.text
    assert response.headers["X-Request-ID"]
    assert response.json()["user"]["email_verified"] is False
    assert len(mail.outbox) == 1
    token = verification_token_from(mail.outbox[0].body)

    # Login before verifying: 403 email_not_verified.
    response = post("auth/login/", {"email": "ada@example.com", "password": PASSWORD})
    assert (response.status_code, response.json()["error"]["code"]) == (403, "email_not_verified")

    # Verify, then log in.
    response = post("auth/verify-email/", {"token": token})
    assert (response.status_code, response.json()) == (200, {"email_verified": True})
    response = post("auth/login/", {"email": "ada@example.com", "password": PASSWORD})
    assert response.status_code == 200, response.text
    login = response.json()
    assert login["token_type"] == "Bearer"

    # Profile with the access token.
    response = get("users/profile/", login["access"])
    assert response.status_code == 200
    profile = response.json()
    assert profile["email"] == "ada@example.com"
    assert profile["email_verified"] is True
    assert profile["active_organization"]["role"] == "admin"
    assert profile["active_organization"]["name"] == "Engines"

    # Refresh rotates: the old refresh token is now 401.
    response = post("auth/refresh-token/", {"refresh": login["refresh"]})
    assert response.status_code == 200, response.text
    rotated = response.json()
    response = post("auth/refresh-token/", {"refresh": login["refresh"]})
    assert (response.status_code, response.json()["error"]["code"]) == (401, "token_not_valid")
    assert get("users/profile/", rotated["access"]).status_code == 200

    # Logout revokes the current refresh token.
    response = post("auth/logout/", {"refresh": rotated["refresh"]})
    assert response.status_code == 204
    response = post("auth/refresh-token/", {"refresh": rotated["refresh"]})
    assert (response.status_code, response.json()["error"]["code"]) == (401, "token_not_valid")

    # A password change revokes every other session: refresh and access tokens alike.
    session = post("auth/login/", {"email": "ada@example.com", "password": PASSWORD}).json()
    other = post("auth/login/", {"email": "ada@example.com", "password": PASSWORD}).json()
    response = post(
        "auth/change-password/", {"current_password": PASSWORD, "new_password": NEW_PASSWORD}, token=session["access"]
    )
    assert response.status_code == 204, response.text
    for tokens in (session, other):
        response = get("users/profile/", tokens["access"])
        assert (response.status_code, response.json()["error"]["code"]) == (401, "token_not_valid")
        response = post("auth/refresh-token/", {"refresh": tokens["refresh"]})
        assert (response.status_code, response.json()["error"]["code"]) == (401, "token_not_valid")
    # (The old password is refused too: test_api; the 5/min per e-mail login limit leaves room for one more here.)
    assert post("auth/login/", {"email": "ada@example.com", "password": NEW_PASSWORD}).status_code == 200
