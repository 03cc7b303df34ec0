"""``manage.py seed_demo``: the demo organization, its three users and its portfolio, then a banner with the URLs
and credentials. ``make run`` calls it before serving.

Idempotent: a second run finds everything in place and changes nothing (a password changed since is kept unless
``--reset-passwords``). It refuses to run on a non-debug deployment without ``--force``, because the default
password is published in the README.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from accunode.api.exceptions import Conflict
from mlcore.fields import FINANCIAL_FIELDS, FLOW_FIELDS
from organizations.choices import Role
from organizations.models import Membership, Organization
from organizations.services import organization_create
from predictions.choices import PredictionKind
from predictions.services import prediction_create

DEMO_ORGANIZATION_NAME = "Demo Capital"
DEMO_ORGANIZATION_SLUG = "demo-capital"
DEFAULT_DEMO_PASSWORD = "demo-password-2024!"  # noqa: S105 - published on purpose: demo accounts only
DEMO_PASSWORD_ENVIRONMENT = "ACCUNODE_DEMO_PASSWORD"  # noqa: S105 - the name of a variable, not a password
DEMO_SUPERUSER_ENVIRONMENT = "ACCUNODE_DEMO_SUPERUSER"
DEMO_SUPERUSER_EMAIL = "superuser@demo.accunode.local"


@dataclass(frozen=True)
class DemoUser:
    email: str
    full_name: str
    role: str
    is_staff: bool  # the organization's admin also manages it in Django admin (as a tenant administrator)


DEMO_USERS = (
    DemoUser("admin@demo.accunode.local", "Ada Admin", Role.ADMIN, is_staff=True),
    DemoUser("analyst@demo.accunode.local", "Alan Analyst", Role.ANALYST, is_staff=False),
    DemoUser("viewer@demo.accunode.local", "Vera Viewer", Role.VIEWER, is_staff=False),
)


DEMO_SECTORS = ("Industrials", "Technology", "Retail", "Energy", "Healthcare", "Utilities")
DEMO_HEALTHY_COMPANIES = 9
DEMO_DISTRESSED_COMPANIES = 3
DEMO_FIRST_YEAR = 2010


@functools.cache
def demo_statements() -> tuple[dict, ...]:
    """Real statements from the shipped data (fiscal 2010 onwards): a few healthy firms and a few that filed for
    bankruptcy, so the demo portfolio spans the risk levels. Deterministic: the same rows every time."""
    import pandas as pd

    from mlcore.training import DEFAULT_DATA_PATH

    frame = pd.read_csv(DEFAULT_DATA_PATH)
    frame = frame[frame["fiscal_year"] >= DEMO_FIRST_YEAR].sort_values(["company_id", "fiscal_year"])
    distressed = sorted(frame.loc[frame["default_next_year"] == 1, "company_id"].unique())[:DEMO_DISTRESSED_COMPANIES]
    years_on_file = frame["company_id"].value_counts()
    healthy = sorted(company for company in years_on_file[years_on_file >= 4].index if company not in set(distressed))[
        :DEMO_HEALTHY_COMPANIES
    ]
    statements = []
    for index, company in enumerate([*healthy, *distressed]):
        for row in frame[frame["company_id"] == company].tail(4).to_dict("records"):
            statements.append(
                {
                    "symbol": f"DEMO{index + 1:02d}",
                    "name": f"Demo Company {index + 1}",
                    "sector": DEMO_SECTORS[index % len(DEMO_SECTORS)],
                    "reporting_year": int(row["fiscal_year"]),
                    "financials": {field: float(row[field]) for field in FINANCIAL_FIELDS},
                }
            )
    return tuple(statements)


def seed_portfolio(*, organization: Organization, user) -> int:
    """The demo portfolio of ``organization``: companies and their annual predictions (real statements), plus four
    quarters of one company, written by ``user`` through ``prediction_create``, skipping what already exists.

    Returns how many predictions it created.
    """
    created = 0
    statements = demo_statements()
    for statement in statements:
        try:
            prediction_create(
                organization=organization,
                kind=PredictionKind.ANNUAL,
                reporting_year=statement["reporting_year"],
                financials=statement["financials"],
                company_ref={key: statement[key] for key in ("symbol", "name", "sector")},
                created_by=user,
            )
            created += 1
        except Conflict:
            continue
    latest = statements[-1]
    for quarter in range(1, 5):  # the quarters of a year: the fourth one is annualized from the other three (TTM)
        quarterly = {
            field: (value / 4 if field in FLOW_FIELDS else value) for field, value in latest["financials"].items()
        }
        try:
            prediction_create(
                organization=organization,
                kind=PredictionKind.QUARTERLY,
                reporting_year=latest["reporting_year"],
                reporting_quarter=quarter,
                financials=quarterly,
                company_ref={key: latest[key] for key in ("symbol", "name", "sector")},
                created_by=user,
            )
            created += 1
        except Conflict:
            continue
    return created


class Command(BaseCommand):
    help = "Create (or complete) the demo organization, its admin, analyst and viewer, and their portfolio."

    def add_arguments(self, parser):
        parser.add_argument(
            "--reset-passwords",
            action="store_true",
            help="Set the demo password again on demo users whose password was changed.",
        )
        parser.add_argument(
            "--force",
            action="store_true",
            help="Seed even when DEBUG is off (the demo password is public: never on a real deployment).",
        )
        parser.add_argument("--no-banner", action="store_true", help="Do not print the URLs and credentials.")

    def handle(self, *args, **options):
        if not settings.DEBUG and not options["force"]:
            raise CommandError(
                "seed_demo creates accounts with a published password; it runs with DEBUG on, or with --force."
            )
        password = os.environ.get(DEMO_PASSWORD_ENVIRONMENT) or DEFAULT_DEMO_PASSWORD
        self._kept_passwords: set[str] = set()  # users whose password differs from the demo one and was kept
        with_superuser = os.environ.get(DEMO_SUPERUSER_ENVIRONMENT, "").lower() in ("1", "true", "yes")

        with transaction.atomic():
            users = {
                demo.email: self._ensure_user(
                    email=demo.email,
                    full_name=demo.full_name,
                    is_staff=demo.is_staff,
                    password=password,
                    reset_password=options["reset_passwords"],
                )
                for demo in DEMO_USERS
            }
            organization = self._ensure_organization(admin=users[DEMO_USERS[0].email])
            for demo in DEMO_USERS:
                self._ensure_membership(organization=organization, user=users[demo.email], role=demo.role)
            if with_superuser:
                self._ensure_user(
                    email=DEMO_SUPERUSER_EMAIL,
                    full_name="Platform Superuser",
                    is_staff=True,
                    is_superuser=True,
                    password=password,
                    reset_password=options["reset_passwords"],
                )
            created_predictions = seed_portfolio(organization=organization, user=users[DEMO_USERS[1].email])

        if created_predictions:
            self.stdout.write(f"Demo portfolio: {created_predictions} predictions created.")
        if not options["no_banner"]:
            self._print_banner(organization=organization, password=password, with_superuser=with_superuser)

    # --- steps ----------------------------------------------------------------------------------------------------

    def _ensure_user(
        self,
        *,
        email: str,
        full_name: str,
        is_staff: bool,
        password: str,
        reset_password: bool,
        is_superuser: bool = False,
    ):
        User = get_user_model()
        user = User.objects.filter(email__iexact=email).first()
        if user is None:
            user = User(email=email, full_name=full_name)
            self._validate_password(password, user)
            user.set_password(password)
            user.email_verified, user.is_active, user.is_staff, user.is_superuser = True, True, is_staff, is_superuser
            user.save()
            self.stdout.write(f"Created user {email}.")
            return user

        wanted = {"email_verified": True, "is_active": True, "is_staff": is_staff or user.is_staff}
        if is_superuser:
            wanted["is_superuser"] = True
        changed = [field for field, value in wanted.items() if getattr(user, field) != value]
        for field in changed:
            setattr(user, field, wanted[field])
        if not user.check_password(password):
            if reset_password:
                self._validate_password(password, user)
                user.set_password(password)
                changed.append("password")
            else:
                self._kept_passwords.add(email)
        if changed:
            user.save(update_fields=changed)
            self.stdout.write(f"Updated user {email}: {', '.join(changed)}.")
        return user

    def _validate_password(self, password: str, user) -> None:
        try:
            validate_password(password, user)
        except ValidationError as error:
            raise CommandError(f"{DEMO_PASSWORD_ENVIRONMENT} is not acceptable: {' '.join(error.messages)}") from None

    def _ensure_organization(self, *, admin) -> Organization:
        organization = Organization.objects.filter(slug=DEMO_ORGANIZATION_SLUG).first()
        if organization is not None:
            return organization
        organization = organization_create(name=DEMO_ORGANIZATION_NAME, created_by=admin)
        if organization.slug != DEMO_ORGANIZATION_SLUG:  # only if the slug was taken between our check and here
            raise CommandError(f"Could not create the organization with slug {DEMO_ORGANIZATION_SLUG!r}.")
        self.stdout.write(f"Created organization {organization.name} ({organization.slug}).")
        return organization

    def _ensure_membership(self, *, organization: Organization, user, role: str) -> None:
        membership, created = Membership.objects.get_or_create(
            organization=organization, user=user, defaults={"role": role}
        )
        if created:
            self.stdout.write(f"Added {user.email} to {organization.name} as {role}.")
        elif membership.role != role:
            membership.role = role
            membership.save(update_fields=["role"])
            self.stdout.write(f"Set {user.email}'s role in {organization.name} to {role}.")
        if user.default_organization_id is None:
            user.default_organization = organization
            user.save(update_fields=["default_organization"])

    # --- banner ---------------------------------------------------------------------------------------------------

    def _print_banner(self, *, organization: Organization, password: str, with_superuser: bool) -> None:
        url = settings.ACCUNODE_PUBLIC_URL
        accounts = [(demo.email, demo.role + (" (also Django admin)" if demo.is_staff else "")) for demo in DEMO_USERS]
        if with_superuser:
            accounts.append((DEMO_SUPERUSER_EMAIL, "platform superuser (Django admin, every organization)"))
        width = max(len(email) for email, _ in accounts) + 2
        lines = [
            "",
            "=" * 78,
            f"AccuNode is starting at {url}/",
            "",
            f"  Home          {url}/",
            f"  Django admin  {url}/admin/",
            f"  API docs      {url}/api/v1/docs/",
            f"  Health        {url}/api/v1/health",
            "",
            f"Demo organization: {organization.name} ({organization.slug})",
        ]
        for email, role in accounts:
            note = (
                "  [password changed since seeding: seed_demo --reset-passwords]"
                if email in self._kept_passwords
                else ""
            )
            lines.append(f"  {email.ljust(width)}{role}{note}")
        lines += [f"Password for each: {password}", "=" * 78, ""]
        self.stdout.write("\n".join(lines))
