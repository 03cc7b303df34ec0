"""Factories for organizations, memberships and invitations."""

import hashlib
from datetime import timedelta

import factory
from django.utils import timezone

from organizations.choices import Role
from organizations.models import Invitation, Membership, Organization


class OrganizationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organization

    name = factory.Sequence(lambda n: f"Organization {n}")
    slug = factory.Sequence(lambda n: f"organization-{n}")


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    organization = factory.SubFactory(OrganizationFactory)
    user = factory.SubFactory("accounts.tests.factories.UserFactory")
    role = Role.VIEWER


class InvitationFactory(factory.django.DjangoModelFactory):
    """A pending invitation; its token is ``token`` (the hash of ``f"token-{n}"`` unless given)."""

    class Meta:
        model = Invitation

    class Params:
        token = factory.Sequence(lambda n: f"token-{n}")

    organization = factory.SubFactory(OrganizationFactory)
    email = factory.Sequence(lambda n: f"invitee{n}@example.com")
    role = Role.VIEWER
    token_hash = factory.LazyAttribute(lambda invitation: hashlib.sha256(invitation.token.encode()).hexdigest())
    expires_at = factory.LazyFunction(lambda: timezone.now() + timedelta(days=7))
