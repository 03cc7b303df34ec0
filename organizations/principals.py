"""The principal cache: a user with their memberships (and organizations), as every API request needs them.

JWT authentication and ``scoping.resolve_membership`` read both with ONE shared-cache read instead of two SQL
queries per request. Correctness comes first:

- Each entry carries the per-user *version* (``principal:ver:<user>``) it was read under; ``principal_forget``
  replaces the version, so an entry written by a request that read the database just before a change committed
  is never used.
- Every change to a user, a membership or an organization forgets the users concerned: the signal receivers below
  for ``save``/``delete``, and ``principal_forget`` called by the services that use ``QuerySet.update``. The
  version is replaced at once and again after the transaction commits.
- Entries expire after ``PRINCIPAL_CACHE_SECONDS`` whatever happens: a change that bypasses both (raw SQL, a
  ``QuerySet.update`` without ``principal_forget``, a data migration's historical models) lasts at most that long.
- Only with a cache every process shares (``ACCUNODE_PRINCIPAL_CACHE``, on when ``REDIS_URL`` is set); otherwise every
  request reads the database, as an invalidation in one process could not reach another's in-process cache.

The cached user is the app's own ``User`` instance, password hash included (simplejwt's revoke check compares it),
in the app's own Redis, which holds sessions too and must stay private. Keys carry ``PRINCIPAL_KEY_SCHEMA`` so a
release that changes what an entry holds never reads the previous release's entries.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db import transaction
from django.db.models.signals import post_delete, post_save, pre_delete
from django.dispatch import receiver

from .models import Membership, Organization

PRINCIPAL_CACHE_SECONDS = 60
PRINCIPAL_KEY_SCHEMA = 1


def _version_key(user_id) -> str:
    return f"principal:v{PRINCIPAL_KEY_SCHEMA}:ver:{user_id}"


def _entry_key(user_id) -> str:
    return f"principal:v{PRINCIPAL_KEY_SCHEMA}:{user_id}"


def principal_load(user_id):
    """The active-or-not user with ``user_id`` carrying ``cached_memberships``, or ``None`` when there is none.

    One cache round trip on a hit: the entry and the user's current version are read together, and an entry stored
    under another version (one written late by a request that read the database before a change) is not used."""
    if not settings.ACCUNODE_PRINCIPAL_CACHE:
        return _principal_from_database(user_id)
    entry_key, version_key = _entry_key(user_id), _version_key(user_id)
    found = cache.get_many([entry_key, version_key])
    version = found.get(version_key)
    if version is None:
        version = uuid.uuid4().hex
        if not cache.add(version_key, version, None):
            version = cache.get(version_key) or version
    entry = found.get(entry_key)
    if entry is None or entry[0] != version:
        user = _principal_from_database(user_id)
        if user is None:
            return None
        entry = (version, user, user.cached_memberships)
        cache.set(entry_key, entry, PRINCIPAL_CACHE_SECONDS)
    _, user, memberships = entry
    user.cached_memberships = memberships
    return user


def _principal_from_database(user_id):
    user = get_user_model().objects.filter(pk=user_id).first()
    if user is not None:
        user.cached_memberships = list(
            Membership.objects.select_related("organization").filter(user_id=user.pk).order_by("joined_at", "pk")
        )
    return user


def user_memberships(user) -> list[Membership]:
    """The user's memberships with their organizations, oldest first (from the principal cache)."""
    memberships = getattr(user, "cached_memberships", None)
    if memberships is None:
        loaded = principal_load(user.pk)
        memberships = loaded.cached_memberships if loaded is not None else []
        user.cached_memberships = memberships
    return memberships


def principal_forget(user_ids: Iterable) -> None:
    """Make every cached principal of ``user_ids`` unreadable, now and once the current transaction commits."""
    keys = {_version_key(user_id) for user_id in user_ids if user_id is not None}
    if not keys:
        return

    def replace_versions() -> None:
        cache.set_many({key: uuid.uuid4().hex for key in keys}, None)

    replace_versions()
    transaction.on_commit(replace_versions)


@receiver(post_save, sender=Membership)
@receiver(post_delete, sender=Membership)
def _membership_changed(sender, instance, **kwargs) -> None:
    principal_forget([instance.user_id])


@receiver(post_save, sender=Organization)
@receiver(pre_delete, sender=Organization)  # before the cascade removes the memberships that name its members
def _organization_changed(sender, instance, **kwargs) -> None:
    principal_forget(Membership.objects.filter(organization_id=instance.pk).values_list("user_id", flat=True))


def _user_changed(sender, instance, **kwargs) -> None:
    principal_forget([instance.pk])


post_save.connect(_user_changed, sender=get_user_model(), dispatch_uid="principal_user_saved")
post_delete.connect(_user_changed, sender=get_user_model(), dispatch_uid="principal_user_deleted")
