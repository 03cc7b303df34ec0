"""Writes of predictions: score with mlcore and store, re-score, delete, and keep company summaries current.

Every door (API, dashboards, bulk jobs, commands) goes through these functions, so a prediction is validated,
annualized, scored, stored, audited and reflected in its company's summary the same way everywhere.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

from django.conf import settings
from django.db import IntegrityError, connections, router, transaction
from django.db.models.constants import OnConflict
from django.db.models.sql import InsertQuery
from django.utils import timezone

import mlcore
from accunode.api.caching import organization_data_changed
from accunode.api.exceptions import Conflict, PermissionDeniedError, QuotaExceeded, ValidationFailed
from accunode.queries import unique_or_none
from companies.models import Company
from companies.selectors import company_list
from companies.services import company_get_or_create
from organizations.audit import audit_event_record
from organizations.choices import Role
from organizations.scoping import scope_to_organization

from .choices import Annualization, PredictionKind, PredictionSource
from .models import Prediction, PredictionUsage


def previous_quarters(year: int, quarter: int) -> list[tuple[int, int]]:
    """The three (year, quarter) pairs immediately before ``(year, quarter)``, newest first."""
    periods = []
    for _ in range(3):
        year, quarter = (year, quarter - 1) if quarter > 1 else (year - 1, 4)
        periods.append((year, quarter))
    return periods


def _stored_financials(clean: Mapping[str, float | None]) -> dict[str, float]:
    return {field: value for field, value in clean.items() if value is not None}


def _duplicate_conflict(existing_id) -> Conflict:
    return Conflict(
        "A prediction for this company and period already exists.", details={"existing_id": str(existing_id)}
    )


def _validated(financials: Mapping[str, Any]) -> dict[str, float | None]:
    try:
        return mlcore.validate_financials(financials)
    except mlcore.FinancialsValidationError as error:
        raise ValidationFailed(details={"financials": error.details}) from None


def prediction_score(
    *,
    organization,
    kind: str,
    company: Company | None,
    reporting_year: int,
    reporting_quarter: int | None,
    financials: Mapping[str, float | None],
) -> tuple[mlcore.ScoreResult, str | None]:
    """Score a validated statement; quarterly ones are annualized from the company's three previous quarters
    on file in the organization (trailing twelve months) or else ×4. Returns the result and the annualization."""
    if kind == PredictionKind.ANNUAL:
        return mlcore.score_annual(financials), None
    previous: list[Mapping[str, Any]] = []
    if company is not None and company.pk:
        wanted = previous_quarters(reporting_year, reporting_quarter)
        on_file = {
            (row["reporting_year"], row["reporting_quarter"]): row["financials"]
            for row in scope_to_organization(Prediction.objects.all(), organization)
            .filter(
                company=company,
                kind=PredictionKind.QUARTERLY,
                reporting_year__in={year for year, _ in wanted},
            )
            .values("reporting_year", "reporting_quarter", "financials")
        }
        if all(period in on_file for period in wanted):
            previous = [on_file[period] for period in wanted]
    annualized, basis = mlcore.annualize_quarter(financials, previous or None)
    return mlcore.score_quarterly(annualized), basis


def _apply_score(prediction: Prediction, result: mlcore.ScoreResult, annualization: str | None) -> None:
    prediction.ratios = result.ratios
    prediction.probability = result.probability
    prediction.risk_level = result.risk_level
    prediction.rating = result.rating
    prediction.model_version = result.model_version
    prediction.components = result.components
    prediction.drivers = result.drivers
    prediction.annualization = annualization


def _prediction_usage_add(*, user) -> None:
    """Count one new prediction against the user's daily cap (``ACCUNODE_MAX_PREDICTIONS_PER_USER``, 0 = no cap),
    or refuse it with ``QuotaExceeded``. One statement adds to the user's ``PredictionUsage`` row of the UTC day only
    while it is under the cap, so concurrent requests cannot go past it; run inside the write's transaction, a write
    that fails later (a duplicate, say) takes its count back with it."""
    cap = settings.ACCUNODE_MAX_PREDICTIONS_PER_USER
    if not cap or user is None:
        return
    connection = connections[router.db_for_write(PredictionUsage)]
    meta, quote = PredictionUsage._meta, connection.ops.quote_name
    table, count = quote(meta.db_table), quote(meta.get_field("count").column)
    user_column, day_column = quote(meta.get_field("user").column), quote(meta.get_field("day").column)
    day = timezone.now().astimezone(dt.UTC).date()
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} ({user_column}, {day_column}, {count}) VALUES (%s, %s, 1) "  # noqa: S608 - model names
            f"ON CONFLICT ({user_column}, {day_column}) DO UPDATE SET {count} = {table}.{count} + 1 "
            f"WHERE {table}.{count} < %s RETURNING {count}",
            [
                meta.get_field("user").get_db_prep_value(user.pk, connection),
                meta.get_field("day").get_db_prep_value(day, connection),
                cap,
            ],
        )
        counted = cursor.fetchone()
    if counted is None:
        used = unique_or_none(PredictionUsage.objects.filter(user=user, day=day).values_list("count", flat=True)) or cap
        raise QuotaExceeded(
            f"You have made {used} predictions today, the daily limit is {cap}.",
            details={"limit": cap, "used": used},
        )


def _resolve_company(*, organization, company_ref: Mapping[str, Any] | None, company_id, created_by) -> Company:
    """The company a prediction names (by id, or by symbol: found or created)."""
    if company_id is not None:
        company = unique_or_none(company_list(organization=organization).filter(id=company_id))
        if company is None:
            raise ValidationFailed(details={"company_id": ["No company with this id in your organization."]})
        return company
    if not company_ref:
        raise ValidationFailed(details={"company": ["Give company (with symbol) or company_id."]})
    company, _ = company_get_or_create(
        organization=organization,
        symbol=company_ref["symbol"],
        name=company_ref.get("name") or "",
        sector=company_ref.get("sector") or "",
        created_by=created_by,
    )
    return company


def _existing_prediction_id(*, organization, company, kind, reporting_year, reporting_quarter, exclude_id=None):
    queryset = scope_to_organization(Prediction.objects.all(), organization).filter(
        company=company,
        kind=kind,
        reporting_year=reporting_year,
        reporting_quarter=reporting_quarter,
    )
    if exclude_id is not None:
        queryset = queryset.exclude(id=exclude_id)
    return unique_or_none(queryset.values_list("id", flat=True))


def _period_holder_id(prediction: Prediction, exclude_id=None):
    """The id of the prediction that holds ``prediction``'s company, kind and period, if any."""
    return _existing_prediction_id(
        organization=prediction.organization,
        company=prediction.company,
        kind=prediction.kind,
        reporting_year=prediction.reporting_year,
        reporting_quarter=prediction.reporting_quarter,
        exclude_id=exclude_id,
    )


def _save_or_conflict(prediction: Prediction) -> None:
    """Save an existing prediction in a savepoint; when the unique constraint refuses its new company or period, a
    ``Conflict`` naming the prediction that holds it (the database decides, also between concurrent requests)."""
    try:
        with transaction.atomic():
            prediction.save()
    except IntegrityError:
        existing_id = _period_holder_id(prediction, exclude_id=prediction.pk)
        if existing_id is None:
            raise
        raise _duplicate_conflict(existing_id) from None


def _insert_or_conflict(prediction: Prediction) -> None:
    """Insert a new prediction with ``ON CONFLICT DO NOTHING`` (SQLite: ``OR IGNORE``): one statement and no
    savepoint. When a unique constraint already holds its company and period — also a concurrent request's, once
    that commits — nothing is written and the ``Conflict`` names the prediction that holds it."""
    meta = Prediction._meta
    using = router.db_for_write(Prediction)
    query = InsertQuery(Prediction, on_conflict=OnConflict.IGNORE)
    query.insert_values([field for field in meta.local_concrete_fields if not field.generated], [prediction])
    with connections[using].cursor() as cursor:
        for statement, params in query.get_compiler(using=using).as_sql():
            cursor.execute(statement, params)
        inserted = cursor.rowcount == 1
    if inserted:
        prediction._state.adding = False
        prediction._state.db = using
        return
    existing_id = _period_holder_id(prediction)
    if existing_id is None:  # SQLite's OR IGNORE also skips a row that breaks a NOT NULL or CHECK constraint
        raise IntegrityError("The prediction was refused by a database constraint.")
    raise _duplicate_conflict(existing_id)


def prediction_create(
    *,
    organization,
    kind: str,
    reporting_year: int,
    financials: Mapping[str, Any],
    created_by,
    reporting_quarter: int | None = None,
    company_ref: Mapping[str, Any] | None = None,
    company_id=None,
) -> Prediction:
    """Validate, annualize (quarterly), score and store one prediction. Duplicates are a ``Conflict`` with
    ``existing_id`` — decided by the database constraint when two requests race."""
    clean = _validated(financials)
    with transaction.atomic():
        company = _resolve_company(
            organization=organization, company_ref=company_ref, company_id=company_id, created_by=created_by
        )
        # No look-up first: the unique constraint decides (below), which also settles concurrent requests.
        result, annualization = prediction_score(
            organization=organization,
            kind=kind,
            company=company,
            reporting_year=reporting_year,
            reporting_quarter=reporting_quarter,
            financials=clean,
        )
        prediction = Prediction(
            organization=organization,
            company=company,
            kind=kind,
            reporting_year=reporting_year,
            reporting_quarter=reporting_quarter,
            financials=_stored_financials(clean),
            created_by=created_by,
            source=PredictionSource.SINGLE,
        )
        _apply_score(prediction, result, annualization)
        _insert_or_conflict(prediction)
        _prediction_usage_add(user=created_by)  # after the insert: a duplicate is not counted
        # The company's row is locked only now, after the insert: a bulk chunk inserts first and locks companies
        # last, so taking the lock before an insert that waits on the chunk's row would deadlock with it.
        _company_summary_add(prediction)
        audit_event_record(organization=organization, actor=created_by, action="create", target=prediction)
    transaction.on_commit(lambda: organization_data_changed(organization.pk))
    return prediction


def prediction_update(
    *,
    prediction: Prediction,
    actor,
    reporting_year: int,
    financials: Mapping[str, Any],
    reporting_quarter: int | None = None,
    company_ref: Mapping[str, Any] | None = None,
    company_id=None,
) -> Prediction:
    """Replace the statement (and period/company) of a prediction and score it again."""
    clean = _validated(financials)
    organization = prediction.organization
    with transaction.atomic():
        company = _resolve_company(
            organization=organization, company_ref=company_ref, company_id=company_id, created_by=actor
        )
        existing_id = _existing_prediction_id(
            organization=organization,
            company=company,
            kind=prediction.kind,
            reporting_year=reporting_year,
            reporting_quarter=reporting_quarter,
            exclude_id=prediction.pk,
        )
        if existing_id is not None:
            raise _duplicate_conflict(existing_id)
        previous_company_id = prediction.company_id
        result, annualization = prediction_score(
            organization=organization,
            kind=prediction.kind,
            company=company,
            reporting_year=reporting_year,
            reporting_quarter=reporting_quarter,
            financials=clean,
        )
        before = {"probability": prediction.probability, "reporting_year": prediction.reporting_year}
        prediction.company = company
        prediction.reporting_year = reporting_year
        prediction.reporting_quarter = reporting_quarter
        prediction.financials = _stored_financials(clean)
        _apply_score(prediction, result, annualization)
        _save_or_conflict(prediction)
        company_summaries_refresh(company_ids={previous_company_id, company.pk})
        audit_event_record(
            organization=organization,
            actor=actor,
            action="update",
            target=prediction,
            changes={
                "before": before,
                "after": {"probability": prediction.probability, "reporting_year": reporting_year},
            },
        )
    transaction.on_commit(lambda: organization_data_changed(organization.pk))
    return prediction


def prediction_delete(*, prediction: Prediction, actor, membership=None) -> None:
    """Delete a prediction: organization admins may delete any; analysts only the ones they created.

    ``membership`` is the actor's role in the prediction's organization; ``None`` only from Django admin, whose
    scoped admin classes already require the organization's admin role (or a platform superuser).
    """
    if (
        membership is not None
        and membership.role != Role.ADMIN
        and not (membership.role == Role.ANALYST and prediction.created_by_id == getattr(actor, "pk", None))
    ):
        raise PermissionDeniedError("Only an admin, or the analyst who created it, may delete this prediction.")
    organization = prediction.organization
    company_id = prediction.company_id
    with transaction.atomic():
        audit_event_record(organization=organization, actor=actor, action="delete", target=prediction)
        prediction.delete()
        company_summaries_refresh(company_ids=[company_id])
    transaction.on_commit(lambda: organization_data_changed(organization.pk))


def prediction_ensure_explanation(*, prediction: Prediction) -> Prediction:
    """Compute and keep the ratios and drivers of a prediction stored without them: bulk jobs store neither, for
    speed (ML.md "Speed"); the first retrieval fills both."""
    if prediction.drivers is not None and prediction.ratios is not None:
        return prediction
    financials = {field: prediction.financials.get(field) for field in mlcore.FINANCIAL_FIELDS}
    if prediction.kind == PredictionKind.QUARTERLY and prediction.annualization == Annualization.X4:
        # Scored as quarter × 4 (its previous quarters were not on file then): explained the same way.
        annualized, _ = mlcore.annualize_quarter(financials, None)
        result = mlcore.score_quarterly(annualized)
    else:
        # Annual; or quarterly annualized from the quarters on file (trailing twelve months), as when scored.
        result, _ = prediction_score(
            organization=prediction.organization,
            kind=prediction.kind,
            company=prediction.company,
            reporting_year=prediction.reporting_year,
            reporting_quarter=prediction.reporting_quarter,
            financials=financials,
        )
    computed = {"ratios": result.ratios, "drivers": result.drivers}
    missing = {name: value for name, value in computed.items() if getattr(prediction, name) is None}
    Prediction.objects.filter(pk=prediction.pk, **{f"{name}__isnull": True for name in missing}).update(**missing)
    for name, value in missing.items():
        setattr(prediction, name, value)
    return prediction


_SUMMARY_ADD_SQL: dict[tuple[str, str], str] = {}
_SUMMARY_COLUMNS = ("id", "reporting_year", "reporting_quarter", "probability", "risk_level", "rating")


def _summary_fields(kind: str, latest: Mapping[str, Any]) -> dict[str, Any]:
    """The company's summary columns for ``latest``, the latest prediction of ``kind`` (``{}``: none on file), always
    in this order. Keys of ``latest``: ``_SUMMARY_COLUMNS``."""
    prefix = f"latest_{kind}_"
    fields = {
        f"{prefix}prediction_id": latest.get("id"),
        f"{prefix}reporting_year": latest.get("reporting_year"),
        f"{prefix}probability": latest.get("probability"),
        f"{prefix}risk_level": latest.get("risk_level") or "",
        f"{prefix}rating": latest.get("rating") or "",
    }
    if kind == PredictionKind.QUARTERLY:
        fields["latest_quarterly_reporting_quarter"] = latest.get("reporting_quarter")
    return fields


def _summary_add_sql(kind: str, columns: Iterable[str], connection) -> str:
    """The ``UPDATE`` that folds one new prediction of ``kind`` into its company's summary (see below)."""
    quote = connection.ops.quote_name
    year, quarter = quote(f"latest_{kind}_reporting_year"), quote("latest_quarterly_reporting_quarter")
    later = f"{quote(f'latest_{kind}_prediction_id')} IS NULL OR {year} < %s"
    if kind == PredictionKind.QUARTERLY:
        later += f" OR ({year} = %s AND {quarter} < %s)"
    assignments = ", ".join(
        f"{quote(column)} = CASE WHEN {later} THEN %s ELSE {quote(column)} END" for column in columns
    )
    count = quote("prediction_count")
    return (
        f"UPDATE {quote(Company._meta.db_table)} SET {count} = {count} + 1, {assignments} "  # noqa: S608 - names from the model
        f"WHERE {quote(Company._meta.pk.column)} = %s"
    )


def _company_summary_add(prediction: Prediction) -> None:
    """Fold one new prediction into its company's summary with a single ``UPDATE``, no full refresh.

    The new prediction becomes the latest of its kind when its period is later than the latest on file (periods are
    unique per company and kind, so there are no ties). The comparison is part of the ``UPDATE``, on the row the
    statement locks; on PostgreSQL a concurrent write to the same company is re-read before it applies, so
    concurrent writes to one company fold in one after the other. The statement is written once per kind and
    database: built by the ORM (``Case``/``When`` per column) it cost twice the locked read and ``UPDATE`` it
    replaced (``bench/api_profile.md``).
    """
    kind = prediction.kind
    connection = connections[router.db_for_write(Company)]
    values = _summary_fields(kind, {column: getattr(prediction, column) for column in _SUMMARY_COLUMNS})
    key = (kind, connection.vendor)
    sql = _SUMMARY_ADD_SQL.get(key) or _SUMMARY_ADD_SQL.setdefault(key, _summary_add_sql(kind, values, connection))
    later_params = [prediction.reporting_year]
    if kind == PredictionKind.QUARTERLY:
        later_params += [prediction.reporting_year, prediction.reporting_quarter]
    params = []
    for column, value in values.items():
        params += [*later_params, Company._meta.get_field(column).get_db_prep_value(value, connection)]
    params.append(Company._meta.pk.get_db_prep_value(prediction.company_id, connection))
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def company_summaries_refresh(*, company_ids: Iterable) -> int:
    """Recompute the companies' latest-prediction summary fields and prediction counts from the database.

    The companies are locked first (``FOR NO KEY UPDATE``, in primary-key order, which does not block inserts of
    their predictions): two transactions refreshing one company run one after the other, and the second reads the
    predictions the first committed. Then a few indexed reads and a plain ``UPDATE`` per company — much cheaper to
    build than one ``UPDATE`` with a correlated subquery per column, which dominated the cost of a prediction write.
    """
    company_ids = sorted({company_id for company_id in company_ids if company_id is not None}, key=str)
    if not company_ids:
        return 0
    updated = 0
    with transaction.atomic(savepoint=False):
        locked = list(
            Company.objects.filter(pk__in=company_ids)
            .order_by("pk")
            .select_for_update(no_key=True)
            .values_list("pk", flat=True)
        )
        for company_id in locked:
            predictions = Prediction.objects.filter(company_id=company_id)
            annual = (
                predictions.filter(kind=PredictionKind.ANNUAL)
                .order_by("-reporting_year", "-created_at")
                .values(*_SUMMARY_COLUMNS)
                .first()
            ) or {}
            quarterly = (
                predictions.filter(kind=PredictionKind.QUARTERLY)
                .order_by("-reporting_year", "-reporting_quarter", "-created_at")
                .values(*_SUMMARY_COLUMNS)
                .first()
            ) or {}
            updated += Company.objects.filter(pk=company_id).update(
                prediction_count=predictions.count(),
                **_summary_fields(PredictionKind.ANNUAL, annual),
                **_summary_fields(PredictionKind.QUARTERLY, quarterly),
            )
    return updated
