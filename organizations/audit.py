"""Audit trail: every create/update/delete of tenant data records an ``AuditEvent`` (called by services)."""

from __future__ import annotations

from typing import Any

from django.db import models

from accunode.logging import request_id_var

from .models import AuditEvent


def audit_event_record(
    *,
    organization,
    actor,
    action: str,
    target: models.Model,
    changes: dict[str, Any] | None = None,
) -> AuditEvent:
    """Record ``action`` on ``target`` by ``actor`` in the current request (its id comes from the log context)."""
    request_id = request_id_var.get()
    return AuditEvent.objects.create(
        organization=organization,
        actor=actor if getattr(actor, "pk", None) else None,
        action=action,
        object_type=target._meta.label_lower,
        object_id=str(target.pk),
        object_repr=str(target)[:255],
        changes=changes or {},
        request_id="" if request_id == "-" else request_id,
    )
