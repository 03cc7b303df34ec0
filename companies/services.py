"""Writes of companies: create, update, delete, and find-or-create by symbol (used by predictions)."""

from __future__ import annotations

from django.db import IntegrityError, transaction

from accunode.api.caching import organization_data_changed
from accunode.api.exceptions import Conflict
from organizations.audit import audit_event_record

from .models import Company
from .selectors import company_find_by_symbol


def normalize_symbol(symbol: str) -> str:
    return symbol.strip().upper()


def _symbol_conflict(company: Company) -> Conflict:
    return Conflict(
        f"A company with symbol {company.symbol} already exists in this organization.",
        details={"existing_id": str(company.id), "symbol": company.symbol},
    )


def _company_insert(*, organization, symbol: str, name: str, sector: str, country: str, created_by) -> Company:
    """Insert a company whose normalized symbol is believed free; a taken symbol is a ``Conflict``."""
    try:
        with transaction.atomic():
            company = Company.objects.create(
                organization=organization,
                symbol=symbol,
                name=name.strip(),
                sector=(sector or "").strip(),
                country=(country or "").strip(),
                created_by=created_by,
            )
            audit_event_record(organization=organization, actor=created_by, action="create", target=company)
    except IntegrityError:
        existing = company_find_by_symbol(organization=organization, symbol=symbol)
        if existing is None:
            raise
        raise _symbol_conflict(existing) from None
    transaction.on_commit(lambda: organization_data_changed(organization.pk))
    return company


def company_create(
    *, organization, symbol: str, name: str, sector: str = "", country: str = "", created_by=None
) -> Company:
    """Create a company; a symbol taken in the organization is a ``Conflict`` carrying ``existing_id``."""
    symbol = normalize_symbol(symbol)
    existing = company_find_by_symbol(organization=organization, symbol=symbol)
    if existing is not None:
        raise _symbol_conflict(existing)
    return _company_insert(
        organization=organization, symbol=symbol, name=name, sector=sector, country=country, created_by=created_by
    )


def company_get_or_create(
    *, organization, symbol: str, name: str = "", sector: str = "", created_by=None
) -> tuple[Company, bool]:
    """The organization's company with ``symbol``, created with ``name``/``sector`` when new (never overwritten)."""
    symbol = normalize_symbol(symbol)
    existing = company_find_by_symbol(organization=organization, symbol=symbol)
    if existing is not None:
        return existing, False
    try:
        company = _company_insert(
            organization=organization,
            symbol=symbol,
            name=name or symbol,
            sector=sector,
            country="",
            created_by=created_by,
        )
    except Conflict:  # created concurrently
        return company_find_by_symbol(organization=organization, symbol=symbol), False
    return company, True


UPDATABLE_FIELDS = ("symbol", "name", "sector", "country")


def company_update(*, company: Company, actor, **changes) -> Company:
    """Update the given fields; a new symbol taken by another company is a ``Conflict``."""
    changed = {}
    for field, value in changes.items():
        if field not in UPDATABLE_FIELDS:
            raise ValueError(f"{field} cannot be updated")
        value = normalize_symbol(value) if field == "symbol" else (value or "").strip()
        if getattr(company, field) != value:
            changed[field] = {"from": getattr(company, field), "to": value}
            setattr(company, field, value)
    if not changed:
        return company
    if "symbol" in changed:
        clash = company_find_by_symbol(organization=company.organization, symbol=company.symbol)
        if clash is not None and clash.pk != company.pk:
            raise _symbol_conflict(clash)
    try:
        with transaction.atomic():
            company.save(update_fields=[*changed, "updated_at"])
            audit_event_record(
                organization=company.organization, actor=actor, action="update", target=company, changes=changed
            )
    except IntegrityError:
        clash = company_find_by_symbol(organization=company.organization, symbol=company.symbol)
        raise _symbol_conflict(clash) from None
    transaction.on_commit(lambda: organization_data_changed(company.organization_id))
    return company


def company_delete(*, company: Company, actor) -> None:
    """Delete the company and (by cascade) its predictions."""
    organization = company.organization
    with transaction.atomic():
        audit_event_record(organization=organization, actor=actor, action="delete", target=company)
        company.delete()
    transaction.on_commit(lambda: organization_data_changed(organization.pk))
