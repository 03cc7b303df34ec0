"""Selectors of accounts: the profile and its active organization."""

import pytest

from accounts.selectors import profile_get, user_email_taken, user_get_by_email, user_memberships
from accounts.tests.factories import UserFactory
from accunode.api.exceptions import PermissionDeniedError
from organizations.choices import Role
from organizations.models import Membership
from organizations.tests.factories import OrganizationFactory

pytestmark = pytest.mark.django_db


def test_lookups_by_email_ignore_case_and_surrounding_spaces():
    user = UserFactory(email="ada@example.com")
    assert user_get_by_email(email=" ADA@example.com ") == user
    assert user_email_taken(email="Ada@Example.com")
    assert not user_email_taken(email="grace@example.com")


def test_profile_active_organization_is_the_default_then_the_header(django_assert_max_num_queries):
    first, second = OrganizationFactory(name="Beta"), OrganizationFactory(name="Alpha")
    user = UserFactory(default_organization=first)
    Membership.objects.create(user=user, organization=first, role=Role.ADMIN)
    Membership.objects.create(user=user, organization=second, role=Role.VIEWER)
    with django_assert_max_num_queries(2):
        profile = profile_get(user=user)
    assert [membership.organization.name for membership in profile.memberships] == ["Alpha", "Beta"]
    assert profile.active_membership.organization == first
    assert profile_get(user=user, organization_id=str(second.id)).active_membership.organization == second


def test_profile_without_organizations_has_none_active_unless_one_is_named():
    user = UserFactory()
    assert profile_get(user=user).active_membership is None
    with pytest.raises(PermissionDeniedError):
        profile_get(user=user, organization_id=str(OrganizationFactory().id))


def test_user_memberships_are_only_the_users():
    user, other = UserFactory(), UserFactory()
    Membership.objects.create(user=other, organization=OrganizationFactory(), role=Role.ADMIN)
    assert list(user_memberships(user=user)) == []
