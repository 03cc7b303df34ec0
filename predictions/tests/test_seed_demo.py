"""``manage.py seed_demo``: the demo organization and users, idempotent, usable to log in."""

from io import StringIO

import pytest
from django.contrib.auth import authenticate, get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError

from organizations.choices import Role
from organizations.models import Membership, Organization
from predictions.management.commands.seed_demo import (
    DEFAULT_DEMO_PASSWORD,
    DEMO_ORGANIZATION_SLUG,
    DEMO_SUPERUSER_EMAIL,
    DEMO_USERS,
    demo_statements,
)
from predictions.models import Prediction

pytestmark = pytest.mark.django_db

User = get_user_model()


@pytest.fixture(autouse=True)
def _debug_on(settings, monkeypatch):
    """As under ``make run``: the local settings have DEBUG on (pytest-django turns it off)."""
    settings.DEBUG = True
    settings.ACCUNODE_PUBLIC_URL = "http://127.0.0.1:8000"
    monkeypatch.delenv("ACCUNODE_DEMO_PASSWORD", raising=False)
    monkeypatch.delenv("ACCUNODE_DEMO_SUPERUSER", raising=False)


def seed(*args: str) -> str:
    out = StringIO()
    call_command("seed_demo", *args, stdout=out)
    return out.getvalue()


def snapshot() -> dict:
    """Everything seed_demo writes, to compare two runs."""
    return {
        "organizations": list(Organization.objects.values_list("id", "name", "slug")),
        "users": list(
            User.objects.order_by("email").values_list(
                "id", "email", "password", "is_staff", "is_superuser", "email_verified", "default_organization"
            )
        ),
        "memberships": list(Membership.objects.order_by("user__email").values_list("id", "user__email", "role")),
        "predictions": list(Prediction.objects.order_by("id").values_list("id", "probability", "updated_at")),
    }


def test_creates_the_demo_organization_and_its_users():
    seed()

    organization = Organization.objects.get(slug=DEMO_ORGANIZATION_SLUG)
    assert organization.name == "Demo Capital"
    roles = dict(Membership.objects.filter(organization=organization).values_list("user__email", "role"))
    assert roles == {
        "admin@demo.accunode.local": Role.ADMIN,
        "analyst@demo.accunode.local": Role.ANALYST,
        "viewer@demo.accunode.local": Role.VIEWER,
    }
    for demo in DEMO_USERS:
        user = User.objects.get(email=demo.email)
        assert user.email_verified
        assert user.is_active
        assert user.is_staff is demo.is_staff
        assert not user.is_superuser
        assert user.default_organization == organization
    assert User.objects.get(email="admin@demo.accunode.local").is_staff


def test_running_twice_changes_nothing():
    seed()
    first = snapshot()

    output = seed()

    assert snapshot() == first
    assert "Created" not in output and "Updated" not in output and "Added" not in output


def test_every_demo_user_can_authenticate_with_the_printed_password():
    output = seed()

    assert f"Password for each: {DEFAULT_DEMO_PASSWORD}" in output
    for demo in DEMO_USERS:
        assert demo.email in output
        assert authenticate(username=demo.email, password=DEFAULT_DEMO_PASSWORD) == User.objects.get(email=demo.email)


def test_demo_users_log_in_through_the_api(api_client):
    seed()

    response = api_client.post(
        "/api/v1/auth/login/",
        {"email": "analyst@demo.accunode.local", "password": DEFAULT_DEMO_PASSWORD},
        format="json",
    )

    assert response.status_code == 200, response.content[:500]
    assert response.json()["access"]


def test_admin_can_open_django_admin(client):
    seed()

    assert client.login(username="admin@demo.accunode.local", password=DEFAULT_DEMO_PASSWORD)
    assert client.get("/admin/").status_code == 200


def test_banner_names_the_urls():
    output = seed()

    for url in ("http://127.0.0.1:8000/", "http://127.0.0.1:8000/admin/", "http://127.0.0.1:8000/api/v1/docs/"):
        assert url in output


def test_a_changed_password_is_kept_unless_reset_is_asked():
    seed()
    analyst = User.objects.get(email="analyst@demo.accunode.local")
    analyst.set_password("my-own-secret-passphrase")
    analyst.save()

    output = seed()
    assert authenticate(username=analyst.email, password="my-own-secret-passphrase") == analyst
    assert "password changed since seeding" in output

    seed("--reset-passwords")
    assert authenticate(username=analyst.email, password=DEFAULT_DEMO_PASSWORD) == analyst


def test_password_and_superuser_from_the_environment(monkeypatch):
    monkeypatch.setenv("ACCUNODE_DEMO_PASSWORD", "another-demo-passphrase-7")
    monkeypatch.setenv("ACCUNODE_DEMO_SUPERUSER", "true")

    output = seed()

    superuser = User.objects.get(email=DEMO_SUPERUSER_EMAIL)
    assert superuser.is_superuser and superuser.is_staff
    assert authenticate(username=DEMO_SUPERUSER_EMAIL, password="another-demo-passphrase-7") == superuser
    assert authenticate(username=DEMO_USERS[0].email, password="another-demo-passphrase-7") is not None
    assert "another-demo-passphrase-7" in output


def test_a_weak_environment_password_is_refused(monkeypatch):
    monkeypatch.setenv("ACCUNODE_DEMO_PASSWORD", "12345")

    with pytest.raises(CommandError, match="ACCUNODE_DEMO_PASSWORD"):
        seed()
    assert not User.objects.exists()


def test_refuses_without_debug_unless_forced(settings):
    settings.DEBUG = False

    with pytest.raises(CommandError, match="--force"):
        seed()
    assert not Organization.objects.exists()

    seed("--force", "--no-banner")
    assert Organization.objects.filter(slug=DEMO_ORGANIZATION_SLUG).exists()


def test_the_demo_portfolio_is_real_scored_and_spans_risk_levels():
    seed()

    organization = Organization.objects.get(slug=DEMO_ORGANIZATION_SLUG)
    annual = Prediction.objects.filter(organization=organization, kind="annual")
    assert organization.companys.count() == 12
    assert annual.count() == len(demo_statements()) >= 40
    assert len(set(annual.values_list("risk_level", flat=True))) >= 3
    quarterly = Prediction.objects.filter(organization=organization, kind="quarterly").order_by("reporting_quarter")
    assert [p.annualization for p in quarterly] == ["x4", "x4", "x4", "ttm"]
    assert all(p.drivers for p in annual)
