"""The bulk scoring pipeline: uploaded CSV/XLSX files → validated, scored, stored predictions, chunk by chunk.

Doors: ``POST /api/v1/predictions/bulk-upload/`` (``bulk_views``), the Celery task ``predictions.tasks``, and
``manage.py import_predictions``. All of them go through these functions:

- ``bulk_job_create`` inspects the file (format, encoding, header) and raises 400/413/415 errors **before** any
  job exists; then stores the file under ``MEDIA_ROOT/bulk/<organization>/`` and creates a queued ``BulkJob``.
- ``bulk_job_enqueue`` is the one place that decides how a job runs (see its docstring).
- ``bulk_job_run`` executes a job: reads the file in chunks, validates and annualizes vectorised (mlcore), finds or
  creates companies in bulk, scores each chunk with one ``mlcore.score_frame`` call, and writes the predictions with
  PostgreSQL ``COPY`` (set-based SQL on SQLite). Ratios and drivers are not stored
  (``services.prediction_ensure_explanation`` fills both on first retrieval).

Exactly once: each chunk commits in ONE transaction together with the job's progress (``processed_rows``, the
resume cursor) and the outcomes of its rows (``BulkJobChunk``, unique per job and first row). A job that is retried
(worker killed → the broker redelivers the task; or any restart) resumes from the committed cursor. Each execution
takes a new ``attempt`` number under a row lock, and every chunk transaction checks it under the same lock, so an
older execution that is still alive stops instead of writing twice. The unique constraints on predictions make a
replayed row harmless even so.
"""

from __future__ import annotations

import codecs
import contextlib
import contextvars
import csv
import datetime as dt
import io
import logging
import re
import tempfile
import threading
import uuid
import zipfile
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.files import File
from django.core.files.uploadedfile import UploadedFile
from django.db import DatabaseError, IntegrityError, connection, connections, transaction
from django.db.models import Count, OuterRef, Subquery, Value
from django.db.models.expressions import RawSQL
from django.db.models.functions import Coalesce
from django.utils import timezone

import mlcore
from accunode.api.caching import organization_data_changed
from accunode.api.exceptions import (
    Conflict,
    PayloadTooLarge,
    ServiceUnavailable,
    UnsupportedMediaTypeError,
    ValidationFailed,
)
from accunode.logging import organization_id_var, request_id_var
from companies.models import SYMBOL_MAX_LENGTH, Company
from organizations.audit import audit_event_record

from .choices import BulkFileFormat, BulkJobStatus, OnDuplicate, PredictionKind, PredictionSource
from .ids import uuid7_hex_batch
from .models import BulkJob, BulkJobChunk, Prediction

logger = logging.getLogger(__name__)

DEFAULT_CHUNK_SIZE = 20_000
MAX_STORED_ERRORS = 100
HEAD_BYTES = 64 * 1024
LOOKUP_BATCH = 5_000

COMPANY_COLUMNS = ("symbol", "name", "sector")
RESULT_COLUMNS = ("probability", "risk_level", "rating", "status", "error")
SYMBOL_RE = r"^[A-Za-z0-9][A-Za-z0-9.\-_/]*$"  # companies.serializers.SYMBOL_PATTERN
NAME_MAX_LENGTH = 255
SECTOR_MAX_LENGTH = 100
MIN_REPORTING_YEAR = 1900
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
NON_FIELD = "non_field_errors"

MSG_REQUIRED = "This field is required."
MSG_EXISTS = "A prediction for this company and period already exists."
MSG_EARLIER_ROW = "A prediction for this company and period was already written by an earlier row of this file."
MSG_NOT_SCORED = "The statement could not be scored."


class RowStatus:
    CREATED = "created"
    UPDATED = "updated"
    SKIPPED = "skipped"
    FAILED = "failed"
    NOT_PROCESSED = "not_processed"


_STATUS_CODES = {"c": RowStatus.CREATED, "u": RowStatus.UPDATED, "s": RowStatus.SKIPPED, "f": RowStatus.FAILED}


# --- Columns ----------------------------------------------------------------------------------------------------------
def expected_columns(kind: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """``(required, optional)`` columns of a bulk file of ``kind`` (API.md "Bulk scoring")."""
    period = ("reporting_year", "reporting_quarter") if kind == PredictionKind.QUARTERLY else ("reporting_year",)
    required = ("symbol", "name", *period, *mlcore.REQUIRED_FIELDS)
    optional = ("sector", *mlcore.OPTIONAL_FIELDS)
    return required, optional


def normalize_column(name: Any) -> str:
    return "" if name is None else str(name).replace("\ufeff", "").strip().lower()


def check_header(raw_columns: list[Any], kind: str) -> list[str]:
    """The normalized column names, or ``ValidationFailed`` naming every missing, unknown or repeated column."""
    columns = [normalize_column(c) for c in raw_columns]
    required, optional = expected_columns(kind)
    known = set(required) | set(optional)
    details: dict[str, list[str]] = {}
    if len(columns) == 1 and any(sep in str(raw_columns[0]) for sep in (";", "\t", "|")):
        found = next(sep for sep in (";", "\t", "|") if sep in str(raw_columns[0]))
        raise ValidationFailed(
            f"The header has a single column: the file must be comma-separated (it looks separated by {found!r}).",
            details={"file": ["Use a comma as the delimiter."]},
        )
    for position, column in enumerate(columns, start=1):
        if not column:
            details.setdefault("file", []).append(f"Column {position} has no name in the header.")
    seen: set[str] = set()
    for column in columns:
        if column and column in seen:
            details[column] = ["Column appears more than once."]
        seen.add(column)
    missing = [c for c in required if c not in seen]
    unknown = [c for c in columns if c and c not in known]
    for column in missing:
        details[column] = ["Required column is missing."]
    for column in unknown:
        hint = " (only for quarterly files)" if column == "reporting_quarter" else ""
        details[column] = [f"Unknown column{hint}."]
    if details:
        parts = []
        if missing:
            parts.append("missing columns: " + ", ".join(missing))
        if unknown:
            parts.append("unknown columns: " + ", ".join(unknown))
        message = "The file header is not valid" + (": " + "; ".join(parts) if parts else "") + "."
        raise ValidationFailed(message, details=details)
    return columns


# --- Inspecting an upload ---------------------------------------------------------------------------------------------
def detect_format(file_name: str, content_type: str | None) -> str:
    """CSV or XLSX from the file name (or, without an extension, the content type); anything else is 415."""
    suffix = Path(file_name or "").suffix.lower()
    if suffix in (".csv", ".txt"):
        return BulkFileFormat.CSV
    if suffix == ".xlsx":
        return BulkFileFormat.XLSX
    content_type = (content_type or "").split(";")[0].strip().lower()
    if not suffix and content_type in ("text/csv", "text/plain", "application/csv"):
        return BulkFileFormat.CSV
    if not suffix and content_type == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet":
        return BulkFileFormat.XLSX
    raise UnsupportedMediaTypeError(
        "Upload a CSV file (.csv, UTF-8) or an Excel workbook (.xlsx).",
        details={"file": [f"Unsupported file type {suffix or content_type or 'unknown'}."]},
    )


def _inspect_csv(path: str, kind: str) -> list[str]:
    with open(path, "rb") as handle:
        head = handle.read(HEAD_BYTES)
    if not head.replace(b"\xef\xbb\xbf", b"").strip():
        raise ValidationFailed("The file is empty.", details={"file": ["The file is empty."]})
    if b"\x00" in head:
        raise ValidationFailed(
            "The file is not a text CSV (it contains binary data).", details={"file": ["Not a UTF-8 CSV file."]}
        )
    try:
        text = codecs.getincrementaldecoder("utf-8-sig")().decode(head, final=False)
    except UnicodeDecodeError:
        raise ValidationFailed(
            "The file is not UTF-8 text. Save the CSV as UTF-8 (with or without BOM).",
            details={"file": ["Not a UTF-8 CSV file."]},
        ) from None
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines:
        raise ValidationFailed("The file is empty.", details={"file": ["The file is empty."]})
    header = next(csv.reader([lines[0]]))
    columns = check_header(header, kind)
    if len(lines) < 2 and len(head) < HEAD_BYTES:
        raise ValidationFailed(
            "The file has a header but no data rows.", details={"file": ["The file has no data rows."]}
        )
    return columns


def _open_workbook(path: str):
    import openpyxl

    try:
        workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
        sheet = workbook.worksheets[0]
    except Exception:  # openpyxl raises zip, XML, key and value errors for broken files
        raise ValidationFailed(
            "The file is not a readable Excel workbook (.xlsx).", details={"file": ["Broken or invalid XLSX file."]}
        ) from None
    return workbook, sheet


def _trim_header(cells: tuple) -> list[Any]:
    cells = list(cells)
    while cells and (cells[-1] is None or str(cells[-1]).strip() == ""):
        cells.pop()
    return cells


def _inspect_xlsx(path: str, kind: str) -> list[str]:
    if not zipfile.is_zipfile(path):
        raise ValidationFailed(
            "The file is not a readable Excel workbook (.xlsx).", details={"file": ["Broken or invalid XLSX file."]}
        )
    workbook, sheet = _open_workbook(path)
    try:
        rows = sheet.iter_rows(values_only=True)
        header = None
        try:
            for cells in rows:
                if any(c is not None and str(c).strip() for c in cells):
                    header = _trim_header(cells)
                    break
            if header is None:
                raise ValidationFailed("The file is empty.", details={"file": ["The workbook's first sheet is empty."]})
            columns = check_header(header, kind)
            has_data = any(any(c is not None and str(c).strip() for c in cells) for cells in rows)
        except ValidationFailed:
            raise
        except Exception:
            raise ValidationFailed(
                "The file is not a readable Excel workbook (.xlsx).",
                details={"file": ["Broken or invalid XLSX file."]},
            ) from None
        if not has_data:
            raise ValidationFailed(
                "The file has a header but no data rows.", details={"file": ["The file has no data rows."]}
            )
        return columns
    finally:
        workbook.close()


def inspect_upload(path: str, file_format: str, kind: str) -> list[str]:
    """Check a stored upload before a job exists; returns the normalized header or raises ``ValidationFailed``."""
    if file_format == BulkFileFormat.XLSX:
        return _inspect_xlsx(path, kind)
    return _inspect_csv(path, kind)


def max_upload_bytes() -> int:
    return settings.ACCUNODE_BULK_UPLOAD_MAX_SIZE_MB * 1024 * 1024


def check_upload_size(size: int | None) -> None:
    limit = settings.ACCUNODE_BULK_UPLOAD_MAX_SIZE_MB
    if size is not None and size > max_upload_bytes():
        raise PayloadTooLarge(
            f"The file is larger than the limit of {limit} MB.", details={"max_size_mb": limit, "size_bytes": size}
        )


# --- Reading chunks ---------------------------------------------------------------------------------------------------
def _csv_reader(path: str, columns: list[str] | None, chunk_size: int, *, as_text: bool):
    kwargs: dict[str, Any] = {
        "chunksize": chunk_size,
        "encoding": "utf-8-sig",
        "encoding_errors": "replace",
        "keep_default_na": False,
        "na_values": [""],
        "skipinitialspace": False,
    }
    if as_text:
        kwargs.update(dtype=str, na_values=None)
    else:
        kwargs.update(
            header=0,
            names=columns,
            dtype={c: "string" for c in (*COMPANY_COLUMNS, "reporting_quarter") if c in columns},
        )
    return pd.read_csv(path, **kwargs)


def _xlsx_rows(path: str) -> tuple[list[Any], Iterator[tuple]]:
    workbook, sheet = _open_workbook(path)
    rows = sheet.iter_rows(values_only=True)
    header: list[Any] = []
    for cells in rows:
        if any(c is not None and str(c).strip() for c in cells):
            header = _trim_header(cells)
            break

    def data() -> Iterator[tuple]:
        try:
            width = len(header)
            for cells in rows:
                cells = tuple(cells[:width]) + (None,) * max(0, width - len(cells))
                if any(c is not None and (not isinstance(c, str) or c.strip()) for c in cells):
                    yield cells
        finally:
            workbook.close()

    return header, data()


def _xlsx_chunks(path: str, chunk_size: int, *, as_text: bool) -> Iterator[pd.DataFrame]:
    header, rows = _xlsx_rows(path)
    names = [str(c) if c is not None else "" for c in header] if as_text else [normalize_column(c) for c in header]
    start = 0
    while True:
        block = []
        for cells in rows:
            block.append(cells)
            if len(block) >= chunk_size:
                break
        if not block:
            return
        frame = pd.DataFrame(block, columns=names, index=pd.RangeIndex(start, start + len(block)), dtype=object)
        if as_text:
            frame = frame.map(_cell_text)
        else:
            financial = [c for c in names if c in mlcore.FINANCIAL_FIELDS]
            frame[financial] = frame[financial].infer_objects()
        start += len(block)
        yield frame
        if len(block) < chunk_size:
            return


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return str(value)


def iter_chunks(job: BulkJob, start_row: int = 0) -> Iterator[pd.DataFrame]:
    """Data chunks of the job's file with normalized column names; the index is the 0-based data row. Chunks before
    ``start_row`` are parsed and skipped (chunk boundaries are the same on every attempt)."""
    path = job.file.path
    if job.file_format == BulkFileFormat.XLSX:
        source: Iterator[pd.DataFrame] = _xlsx_chunks(path, job.chunk_size, as_text=False)
    else:
        header = pd.read_csv(path, nrows=0, encoding="utf-8-sig", encoding_errors="replace").columns
        source = _csv_reader(path, [normalize_column(c) for c in header], job.chunk_size, as_text=False)
    for frame in source:
        if frame.index[-1] < start_row:
            continue
        yield frame


def iter_text_chunks(job: BulkJob) -> Iterator[pd.DataFrame]:
    """Chunks of the job's file as given (original header, every cell as text), for the results file."""
    if job.file_format == BulkFileFormat.XLSX:
        yield from _xlsx_chunks(job.file.path, job.chunk_size, as_text=True)
    else:
        yield from _csv_reader(job.file.path, None, job.chunk_size, as_text=True)


def count_rows(job: BulkJob) -> int | None:
    """Data rows of the file (same parsing as ``iter_chunks``); XLSX gives the sheet's dimension, refined later."""
    try:
        if job.file_format == BulkFileFormat.XLSX:
            workbook, sheet = _open_workbook(job.file.path)
            try:
                return max(0, (sheet.max_row or 0) - 1) or None
            finally:
                workbook.close()
        reader = pd.read_csv(
            job.file.path,
            usecols=[0],
            dtype=str,
            chunksize=200_000,
            encoding="utf-8-sig",
            encoding_errors="replace",
            keep_default_na=False,
        )
        return sum(len(chunk) for chunk in reader)
    except Exception:  # a file that cannot be counted still runs; the count is set when it ends
        logger.warning("Could not count the rows of bulk job %s", job.pk, exc_info=True)
        return None


# --- Validation of the non-financial columns --------------------------------------------------------------------------
def _text(frame: pd.DataFrame, column: str) -> pd.Series:
    if column not in frame.columns:
        return pd.Series(pd.NA, index=frame.index, dtype="string")
    series = frame[column]
    if series.dtype == object:  # XLSX cells: numbers given as symbols or quarters
        series = series.map(lambda v: _cell_text(v) if v is not None and not isinstance(v, str) else v)
    return series.astype("string").str.strip()


@dataclass
class ParsedChunk:
    """A validated chunk: row keys, the numeric statement, and per-row errors (position in chunk → errors)."""

    frame: pd.DataFrame
    symbol: np.ndarray  # object arrays by position (upper-case symbol; name and sector "" when not given)
    name: np.ndarray
    sector: np.ndarray
    year: np.ndarray
    quarter: np.ndarray
    numeric: pd.DataFrame
    valid: np.ndarray
    errors: list[tuple[int, str, str]] = field(default_factory=list)  # (position, field, message), row order
    # Filled by ``prepare_chunk`` (work that depends on nothing stored): the financials JSON per position (None for
    # invalid rows) and, for annual files, the scores of the valid rows (indexed by position) and their components'
    # JSON per position.
    financial_json: np.ndarray | None = None
    scores: pd.DataFrame | None = None
    component_json: np.ndarray | None = None
    # The layer of each valid row (-1 for invalid rows): a (symbol, period) key repeated inside the chunk is layer 0
    # at its first occurrence, layer 1 at the next, … (a symbol is one company of the organization).
    layer: np.ndarray | None = None


def parse_chunk(frame: pd.DataFrame, kind: str) -> ParsedChunk:
    """Validate a chunk column by column (vectorised): company and period columns here, financials by mlcore."""
    n = len(frame)
    positions: list[np.ndarray] = []
    fields: list[str] = []
    messages: list[str] = []

    def flag(mask: np.ndarray, column: str, message: str) -> None:
        if mask.any():
            positions.append(np.flatnonzero(mask))
            fields.append(column)
            messages.append(message)

    symbol = _text(frame, "symbol").str.upper()
    missing = symbol.isna() | (symbol == "")
    flag(missing.to_numpy(bool), "symbol", MSG_REQUIRED)
    present = ~missing
    too_long = present & (symbol.str.len() > SYMBOL_MAX_LENGTH)
    flag(
        too_long.fillna(False).to_numpy(bool),
        "symbol",
        f"Ensure this field has no more than {SYMBOL_MAX_LENGTH} characters.",
    )
    bad = present & ~too_long & ~symbol.str.match(SYMBOL_RE)
    flag(
        bad.fillna(False).to_numpy(bool), "symbol", "Letters, digits and . - _ / only, starting with a letter or digit."
    )

    name = _text(frame, "name").fillna("")
    flag(
        (name.str.len() > NAME_MAX_LENGTH).to_numpy(bool),
        "name",
        f"Ensure this field has no more than {NAME_MAX_LENGTH} characters.",
    )
    sector = _text(frame, "sector").fillna("")
    flag(
        (sector.str.len() > SECTOR_MAX_LENGTH).to_numpy(bool),
        "sector",
        f"Ensure this field has no more than {SECTOR_MAX_LENGTH} characters.",
    )

    next_year = dt.date.today().year + 1
    year_raw = frame["reporting_year"]
    if year_raw.dtype == object or pd.api.types.is_string_dtype(year_raw.dtype):
        year_raw = year_raw.astype("string").str.strip()
    year = pd.to_numeric(year_raw, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    year_blank = frame["reporting_year"].isna().to_numpy(bool) | (
        year_raw.astype("string").fillna("").str.strip() == ""
    ).to_numpy(bool)
    flag(year_blank, "reporting_year", MSG_REQUIRED)
    with np.errstate(invalid="ignore"):
        bad_year = ~year_blank & (
            np.isnan(year) | (year != np.floor(year)) | (year < MIN_REPORTING_YEAR) | (year > next_year)
        )
    flag(bad_year, "reporting_year", f"Must be a whole year between {MIN_REPORTING_YEAR} and {next_year}.")

    quarter = np.full(n, np.nan)
    if kind == PredictionKind.QUARTERLY:
        quarter = mlcore.annualize.quarter_number(_text(frame, "reporting_quarter"))
        quarter_text = _text(frame, "reporting_quarter").fillna("")
        quarter_blank = (quarter_text == "").to_numpy(bool)
        flag(quarter_blank, "reporting_quarter", MSG_REQUIRED)
        flag(~quarter_blank & np.isnan(quarter), "reporting_quarter", 'Must be "Q1"–"Q4" or 1–4.')

    financial_columns = [c for c in frame.columns if c in mlcore.FINANCIAL_FIELDS]
    financials = frame[financial_columns].reset_index(drop=True)
    valid_financials, financial_errors = mlcore.validate_financials_frame(financials)
    numeric = mlcore.validation.numeric_financials(financials)

    valid = valid_financials.copy()
    errors: list[tuple[int, str, str]] = []
    for idx, column, message in zip(positions, fields, messages, strict=True):
        valid[idx] = False
        errors.extend((int(p), column, message) for p in idx)
    errors.extend((int(p), column, message) for p, column, message in financial_errors)
    order = {
        c: i
        for i, c in enumerate(
            ("symbol", "name", "sector", "reporting_year", "reporting_quarter", *mlcore.FINANCIAL_FIELDS)
        )
    }
    errors.sort(key=lambda e: (e[0], order.get(e[1], 99)))
    return ParsedChunk(
        frame=frame,
        symbol=symbol.to_numpy(dtype=object),
        name=name.to_numpy(dtype=object),
        sector=sector.to_numpy(dtype=object),
        year=np.where(np.isnan(year), 0, year).astype(np.int64),
        quarter=np.where(np.isnan(quarter), 0, quarter).astype(np.int64),
        numeric=numeric,
        valid=valid,
        errors=errors,
    )


def prepare_chunk(frame: pd.DataFrame, kind: str) -> ParsedChunk:
    """``parse_chunk`` plus the work that depends on nothing stored: the financials JSON of the valid rows and, for
    annual files, their scores and components JSON (a quarterly score depends on the quarters on file, so it waits
    for the chunk's transaction). Pure computation on the file, no database: it can run ahead in a helper thread."""
    parsed = parse_chunk(frame, kind)
    valid = np.flatnonzero(parsed.valid)
    parsed.financial_json = np.full(len(frame), None, dtype=object)
    parsed.layer = np.full(len(frame), -1)
    if len(valid):
        keys = pd.DataFrame({"symbol": parsed.symbol[valid], "year": parsed.year[valid], "q": parsed.quarter[valid]})
        parsed.layer[valid] = keys.groupby(["symbol", "year", "q"], sort=False).cumcount().to_numpy()
        statements = parsed.numeric.iloc[valid]
        parsed.financial_json[valid] = _json_lines(statements, drop_nulls=True)
        if kind == PredictionKind.ANNUAL:
            scores = mlcore.score_frame(statements.reset_index(drop=True), kind)
            scores.index = valid
            parsed.scores = scores
            parsed.component_json = np.full(len(frame), None, dtype=object)
            parsed.component_json[valid] = _json_lines(_components(scores))
    return parsed


def _prepared_chunks(frames: Iterator[pd.DataFrame], kind: str) -> Iterator[ParsedChunk]:
    """The chunks of ``frames`` prepared one ahead in a helper thread: chunk N+1 is read, validated and (annual)
    scored while chunk N is written and committed (psycopg releases the GIL while PostgreSQL works). Only the pure
    computation runs ahead; every chunk still commits in its own transaction, in order, in the caller's thread.
    Errors (e.g. an unreadable row) surface when the caller reaches the chunk that has them."""

    def produce() -> ParsedChunk | None:
        frame = next(frames, None)
        return None if frame is None else prepare_chunk(frame, kind)

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="bulk-prepare") as pool:
        pending = pool.submit(contextvars.copy_context().run, produce)
        try:
            while (prepared := pending.result()) is not None:
                pending = pool.submit(contextvars.copy_context().run, produce)
                yield prepared
        finally:
            pending.cancel()  # a chunk being prepared is finished (and dropped) before the pool closes


# --- Writing ----------------------------------------------------------------------------------------------------------
_NULL_MEMBER = re.compile(r'"[A-Za-z0-9_]+":null,?')


JSON_DECIMALS = 10  # of USD millions: far below a cent, and no 17-digit artefacts such as 30.621600000000001


def _json_lines(frame: pd.DataFrame, *, drop_nulls: bool = False) -> list[str]:
    """One compact JSON object per row, built by pandas in C (NaN → null, or left out with ``drop_nulls``)."""
    if frame.empty:
        return []
    text = frame.to_json(orient="records", lines=True, double_precision=JSON_DECIMALS)
    if drop_nulls and ":null" in text:  # the regex costs a third of the rendering: only when there is a null
        text = _NULL_MEMBER.sub("", text).replace(",}", "}")
    return text.splitlines()


def _db_uuid(value) -> str | None:
    if value is None:
        return None
    value = value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
    return str(value) if connection.vendor == "postgresql" else value.hex


def _batched(items: list, size: int = LOOKUP_BATCH) -> Iterator[list]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _array_literal(values: list[str]) -> str:
    """A PostgreSQL array literal of text values: ONE query parameter for thousands of ids or symbols (psycopg's
    client-side binding quotes every element of a list parameter, and every value of an ``IN (…)``, in Python)."""
    return "{" + ",".join('"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"' for v in values) + "}"


def _company_ids(job: BulkJob, symbols: list[str]) -> dict[str, str]:
    """Symbol → company id (as ``str``) of the organization's companies with these symbols."""
    found: dict[str, str] = {}
    for batch in _batched(symbols):
        if connection.vendor == "postgresql":  # one array parameter instead of thousands of placeholders
            with connection.cursor() as cursor:
                cursor.execute(
                    f"SELECT symbol, id FROM {Company._meta.db_table} "  # noqa: S608
                    "WHERE organization_id = %s AND symbol = ANY(%s::varchar[])",
                    [job.organization_id, _array_literal(batch)],
                )
                rows = cursor.fetchall()
        else:
            rows = Company.objects.filter(organization_id=job.organization_id, symbol__in=batch).values_list(
                "symbol", "id"
            )
        found.update((symbol, str(company_id)) for symbol, company_id in rows)
    return found


# Company columns that differ per new company; every other column takes its model default (computed once).
_COMPANY_VARYING = ("id", "symbol", "name", "sector")


def _insert_companies_postgresql(job: BulkJob, symbols: list[str], names: list[str], sectors: list[str]) -> None:
    """``INSERT … SELECT FROM unnest(…) ON CONFLICT DO NOTHING``: one array per varying column, the other columns'
    values (defaults, organization, creator, timestamps) prepared once from a template company — what
    ``bulk_create(ignore_conflicts=True)`` stores, without preparing every field of every object."""
    template = Company(organization_id=job.organization_id, created_by_id=job.created_by_id, symbol="", name="")
    columns, selects, params = [], [], []
    for model_field in Company._meta.concrete_fields:
        columns.append(connection.ops.quote_name(model_field.column))
        if model_field.attname in _COMPANY_VARYING:
            selects.append(f"v.{model_field.attname}")
            continue
        value = model_field.get_db_prep_save(model_field.pre_save(template, add=True), connection)
        selects.append(f"%s::{model_field.db_type(connection)}")
        params.append(value)
    arrays = [_array_literal(values) for values in (uuid7_hex_batch(len(symbols)), symbols, names, sectors)]
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {Company._meta.db_table} ({', '.join(columns)}) SELECT {', '.join(selects)} "  # noqa: S608
            "FROM unnest(%s::uuid[], %s::varchar[], %s::varchar[], %s::varchar[]) AS v(id, symbol, name, sector) "
            "ON CONFLICT DO NOTHING",
            [*params, *arrays],
        )


def _companies_for(job: BulkJob, parsed: ParsedChunk, positions: np.ndarray) -> dict[str, str]:
    """Symbol → company id (``str``) for the rows at ``positions``; missing companies created in bulk (first row's
    name and sector)."""
    first_position: dict[str, int] = {}  # symbol → its first row, in order of first appearance
    for symbol, position in zip(parsed.symbol[positions].tolist(), positions.tolist(), strict=True):
        first_position.setdefault(symbol, position)
    found = _company_ids(job, list(first_position))
    missing = [s for s in first_position if s not in found]
    if missing:
        names = [parsed.name[first_position[s]] or s for s in missing]
        sectors = [parsed.sector[first_position[s]] for s in missing]
        if connection.vendor == "postgresql":
            _insert_companies_postgresql(job, missing, names, sectors)
        else:
            Company.objects.bulk_create(
                [
                    Company(
                        organization_id=job.organization_id,
                        symbol=symbol,
                        name=name,
                        sector=sector,
                        created_by_id=job.created_by_id,
                    )
                    for symbol, name, sector in zip(missing, names, sectors, strict=True)
                ],
                batch_size=2_000,
                ignore_conflicts=True,
            )
        found.update(_company_ids(job, missing))
    return found


def _existing_predictions(job: BulkJob, company_ids: list, years: np.ndarray) -> dict[tuple, tuple]:
    """``(company id, year, quarter) → (prediction id, bulk job id)`` of stored predictions of these companies."""
    existing: dict[tuple, tuple] = {}
    year_set = sorted({int(y) for y in years})
    for batch in _batched(company_ids):
        if connection.vendor == "postgresql":  # one array parameter instead of thousands of quoted values
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT company_id, reporting_year, reporting_quarter, id, bulk_job_id "  # noqa: S608
                    f"FROM {Prediction._meta.db_table} WHERE organization_id = %s AND kind = %s "
                    "AND company_id = ANY(%s::uuid[]) AND reporting_year = ANY(%s::smallint[])",
                    [job.organization_id, job.kind, _array_literal(batch), year_set],
                )
                rows = cursor.fetchall()
        else:
            rows = Prediction.objects.filter(
                organization_id=job.organization_id, kind=job.kind, company_id__in=batch, reporting_year__in=year_set
            ).values_list("company_id", "reporting_year", "reporting_quarter", "id", "bulk_job_id")
        for company_id, year, quarter, prediction_id, bulk_job_id in rows:
            existing[(str(company_id), year, quarter or 0)] = (prediction_id, bulk_job_id)
    return existing


def _stored_quarters(job: BulkJob, company_ids: list, years: np.ndarray, exclude: set[tuple]) -> pd.DataFrame:
    """Stored quarterly statements of these companies that can complete a trailing twelve months."""
    year_set = sorted({int(y) for y in years} | {int(y) - 1 for y in years})
    records = []
    for batch in _batched(company_ids):
        rows = Prediction.objects.filter(
            organization_id=job.organization_id,
            kind=PredictionKind.QUARTERLY,
            company_id__in=batch,
            reporting_year__in=year_set,
        ).values_list("company_id", "reporting_year", "reporting_quarter", "financials")
        for company_id, year, quarter, financials in rows:
            if (str(company_id), year, quarter) not in exclude:
                records.append(
                    {"key": str(company_id), "reporting_year": year, "reporting_quarter": quarter, **financials}
                )
    columns = ["key", "reporting_year", "reporting_quarter", *mlcore.FINANCIAL_FIELDS]
    return pd.DataFrame.from_records(records, columns=columns)


@dataclass
class LayerResult:
    status: np.ndarray  # one-letter codes per position of the layer
    probability: np.ndarray
    messages: dict[int, str]
    company_ids: set


def _write_layer(job: BulkJob, parsed: ParsedChunk, positions: np.ndarray, companies: np.ndarray) -> LayerResult:
    """Score and store the rows at ``positions`` (valid rows whose (company, period) keys are distinct);
    ``companies`` holds the company id of every position of the chunk."""
    count = len(positions)
    status = np.full(count, "f", dtype=object)
    probability = np.full(count, np.nan)
    messages: dict[int, str] = {}
    company_ids = companies[positions].tolist()
    years = parsed.year[positions]
    quarters = parsed.quarter[positions]
    existing = _existing_predictions(job, list(set(company_ids)), years)

    create = np.ones(count, dtype=bool)
    update = np.zeros(count, dtype=bool)
    update_ids: list[Any] = [None] * count
    if existing:
        for i, key in enumerate(zip(company_ids, years.tolist(), quarters.tolist(), strict=True)):
            found = existing.get(key)
            if found is None:
                continue
            create[i] = False
            if job.on_duplicate == OnDuplicate.UPDATE:
                update[i] = True
                update_ids[i] = found[0]
            else:
                status[i] = "s" if job.on_duplicate == OnDuplicate.SKIP else "f"
                messages[i] = MSG_EARLIER_ROW if found[1] == job.pk else MSG_EXISTS
    write = create | update
    if not write.any():
        return LayerResult(status, probability, messages, set())

    numeric = parsed.numeric.iloc[positions[write]].reset_index(drop=True)
    annualization = None
    features_input = numeric
    if job.kind == PredictionKind.QUARTERLY:
        own = numeric.assign(
            key=[str(c) for c, w in zip(company_ids, write, strict=True) if w],
            reporting_year=years[write],
            reporting_quarter=quarters[write],
        )
        replaced = {(c, int(y), int(q)) for c, y, q, u in zip(company_ids, years, quarters, update, strict=True) if u}
        stored = _stored_quarters(job, list(set(company_ids)), years[write], replaced)
        base = pd.concat([own, stored], ignore_index=True) if len(stored) else own
        annualized, basis = mlcore.annualize_frame(base, key="key")
        features_input = annualized.iloc[: len(own)].reset_index(drop=True)
        annualization = basis[: len(own)]
    if parsed.scores is not None and job.kind == PredictionKind.ANNUAL:  # scored ahead by prepare_chunk
        scores = parsed.scores.loc[positions[write]].reset_index(drop=True)
    else:
        scores = mlcore.score_frame(features_input, job.kind)
    scored = ~np.isnan(scores["probability"].to_numpy())
    write_positions = np.flatnonzero(write)
    for i in write_positions[~scored]:
        status[i] = "f"
        messages[int(i)] = MSG_NOT_SCORED
    ok = scored
    rows = write_positions[ok]
    if not len(rows):
        return LayerResult(status, probability, messages, set())

    version = mlcore.model_version(job.kind)
    written = positions[write][ok]  # chunk positions of the rows written
    if parsed.component_json is not None:  # annual: rendered ahead by prepare_chunk
        component_json = parsed.component_json[written].tolist()
    else:
        component_json = _json_lines(_components(scores.loc[ok]))
    values = PredictionColumns(
        varying={
            "financials": parsed.financial_json[written].tolist(),
            "probability": scores["probability"].to_numpy()[ok].tolist(),
            "risk_level": scores["risk_level"].to_numpy()[ok].tolist(),
            "rating": scores["rating"].to_numpy()[ok].tolist(),
            "components": component_json,
            "annualization": annualization[ok].tolist() if annualization is not None else [None] * len(rows),
        },
        constant={"model_version": version, "bulk_job_id": _db_uuid(job.pk), "updated_at": timezone.now()},
    )
    new = create[rows]
    new_ids = uuid7_hex_batch(int(new.sum()))
    company_keys = {company_id: _db_uuid(company_id) for company_id in set(company_ids)}
    inserted = _insert_predictions(
        PredictionColumns(
            varying={
                "id": new_ids,
                "company_id": [company_keys[company_ids[i]] for i in rows[new].tolist()],
                "reporting_year": years[rows[new]].tolist(),
                **({"reporting_quarter": quarters[rows[new]].tolist()} if job.kind == PredictionKind.QUARTERLY else {}),
                **values.take(new).varying,
            },
            constant={
                **({} if job.kind == PredictionKind.QUARTERLY else {"reporting_quarter": None}),
                **values.constant,
                "organization_id": _db_uuid(job.organization_id),
                "kind": job.kind,
                "source": PredictionSource.BULK,
                "created_by_id": _db_uuid(job.created_by_id),
                "created_at": values.constant["updated_at"],
            },
        )
    )
    changed = values.take(~new)
    changed.varying = {"id": [_db_uuid(update_ids[i]) for i in rows[~new].tolist()], **changed.varying}
    updated = _update_predictions(changed)

    probability[rows] = scores["probability"].to_numpy()[ok]
    new_positions = rows[new]
    landed = np.array([prediction_id in inserted for prediction_id in new_ids], dtype=bool)
    status[new_positions[landed]] = "c"
    for i in new_positions[~landed].tolist():  # written concurrently by another request since the lookup
        status[i] = "s" if job.on_duplicate == OnDuplicate.SKIP else "f"
        messages[i] = MSG_EXISTS
    for i, prediction_id in zip(rows[~new].tolist(), changed.varying["id"], strict=True):
        status[i] = "u" if prediction_id in updated else "s"
        if status[i] == "s":
            messages[i] = "The existing prediction was deleted while the job ran."
    touched = {company_ids[i] for i in rows.tolist()}
    return LayerResult(status, probability, messages, touched)


def _components(scores: pd.DataFrame) -> pd.DataFrame:
    """The ensemble members' probabilities of ``scores`` (``component_<member>`` columns), named by member."""
    members = [c for c in scores.columns if c.startswith("component_")]
    return scores[members].rename(columns=lambda c: c.removeprefix("component_"))


@dataclass
class PredictionColumns:
    """Prediction rows to write, column by column: ``varying`` holds one value per row, ``constant`` one value
    for every row (organization, job, timestamps, …): built without a tuple per row, and rendered for ``COPY``
    column-wise."""

    varying: dict[str, list]
    constant: dict[str, Any] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(next(iter(self.varying.values()), []))

    @property
    def names(self) -> tuple[str, ...]:
        return (*self.varying, *self.constant)

    def take(self, mask: np.ndarray) -> PredictionColumns:
        """The rows where ``mask`` is true."""
        if mask.all():
            return PredictionColumns(dict(self.varying), dict(self.constant))
        picked = np.flatnonzero(mask).tolist()
        return PredictionColumns(
            {name: [values[i] for i in picked] for name, values in self.varying.items()}, dict(self.constant)
        )

    def rows(self, names: tuple[str, ...]) -> list[tuple]:
        """One tuple per row with the values of ``names`` in that order (the SQLite path)."""
        count = len(self)
        columns = [self.varying[n] if n in self.varying else [self.constant[n]] * count for n in names]
        return list(zip(*columns, strict=True))

    def copy_text(self) -> str:
        """The rows in ``COPY … FROM STDIN`` text format, columns in the order of ``names``."""
        if not len(self):
            return ""
        suffix = "".join("\t" + _copy_field(value) for value in self.constant.values()) + "\n"
        cells = [_copy_column(values) for values in self.varying.values()]
        return "".join([line + suffix for line in map("\t".join, zip(*cells, strict=True))])


PREDICTION_VALUE_COLUMNS = (  # ratios and drivers are left empty: the first retrieval fills them
    "financials",
    "probability",
    "risk_level",
    "rating",
    "model_version",
    "components",
    "annualization",
    "bulk_job_id",
    "updated_at",
)


try:  # errors raised by the raw psycopg cursor (COPY) are psycopg's own, not Django's wrappers
    from psycopg import IntegrityError as _DriverIntegrityError
except ImportError:  # pragma: no cover - SQLite-only installs

    class _DriverIntegrityError(Exception):
        pass


def _copy_field(value) -> str:
    if value is None:
        return "\\N"
    text = value.isoformat() if isinstance(value, dt.datetime) else str(value)
    if "\\" in text or "\t" in text or "\n" in text or "\r" in text:
        text = text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
    return text


_COPY_SPECIAL = ("\\", "\t", "\n", "\r")


def _copy_column(values: list) -> list[str]:
    """One column in COPY text format, converted column-wise: numbers and text without special characters (ids, JSON
    of numbers) are taken as they are; other values are rendered once per distinct value (most columns of a chunk are
    constant) or one by one."""
    kinds = set(map(type, values))
    if kinds <= {int, float}:  # never escaped; str() of a float is its shortest round-trip repr
        return list(map(str, values))
    if kinds == {str}:
        joined = "".join(values)
        if not any(special in joined for special in _COPY_SPECIAL):
            return values
    if all(kind.__hash__ is not None for kind in kinds):
        distinct = set(values)
        if len(distinct) <= 64:
            rendered = {value: _copy_field(value) for value in distinct}
            return [rendered[value] for value in values]
    return [_copy_field(value) for value in values]


def _insert_predictions(rows: PredictionColumns) -> set[str]:
    """Insert new predictions (``rows`` with an ``id`` column of 32 hex digits), ignoring rows that conflict with one
    stored meanwhile; returns the ids that landed."""
    if not len(rows):
        return set()
    table = Prediction._meta.db_table
    columns = ", ".join(rows.names)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            text = rows.copy_text()
            # Fast path: COPY straight into the table. A row stored meanwhile by another request makes the whole
            # COPY fail on the unique constraint: then load a staging table and insert with ON CONFLICT DO NOTHING.
            try:
                with transaction.atomic(), cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                    copy.write(text)
                return set(rows.varying["id"])
            except (IntegrityError, _DriverIntegrityError):
                pass
            cursor.execute(
                f"CREATE TEMP TABLE IF NOT EXISTS bulk_prediction_stage (LIKE {table} INCLUDING DEFAULTS) "
                "ON COMMIT DELETE ROWS"
            )
            cursor.execute("TRUNCATE bulk_prediction_stage")
            with cursor.cursor.copy(f"COPY bulk_prediction_stage ({columns}) FROM STDIN") as copy:
                copy.write(text)
            cursor.execute(
                f"INSERT INTO {table} ({columns}) SELECT {columns} FROM bulk_prediction_stage "  # noqa: S608
                "ON CONFLICT DO NOTHING RETURNING id"
            )
            return {row[0].hex for row in cursor.fetchall()}
        placeholders = ", ".join(["%s"] * len(rows.names))
        cursor.executemany(
            f"INSERT OR IGNORE INTO {table} ({columns}) VALUES ({placeholders})",  # noqa: S608
            _sqlite_timestamps(rows).rows(rows.names),
        )
    landed: set[str] = set()
    for batch in _batched(rows.varying["id"]):
        landed.update(p.hex for p in Prediction.objects.filter(id__in=batch).values_list("id", flat=True))
    return landed


def _sqlite_timestamps(rows: PredictionColumns) -> PredictionColumns:
    """The constant timestamps in SQLite's stored form (one "now" for the whole batch)."""
    constant = {
        name: connection.ops.adapt_datetimefield_value(value) if isinstance(value, dt.datetime) else value
        for name, value in rows.constant.items()
    }
    return PredictionColumns(rows.varying, constant)


_UPDATE_STAGE_COLUMNS = (
    "id uuid, financials json, probability double precision, risk_level varchar(10), "
    "rating varchar(4), model_version varchar(64), components json, annualization varchar(3), bulk_job_id uuid, "
    "updated_at timestamptz"
)


def _update_predictions(rows: PredictionColumns) -> set[str]:
    """Re-score existing predictions in place (``rows``: an ``id`` column and ``PREDICTION_VALUE_COLUMNS``),
    set-based (ratios and drivers cleared: computed again on first view). Returns the ids updated (a prediction
    deleted meanwhile is not)."""
    if not len(rows):
        return set()
    table = Prediction._meta.db_table
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                f"CREATE TEMP TABLE IF NOT EXISTS bulk_prediction_update_stage ({_UPDATE_STAGE_COLUMNS}) "
                "ON COMMIT DELETE ROWS"
            )
            cursor.execute("TRUNCATE bulk_prediction_update_stage")
            columns = ", ".join(rows.names)
            with cursor.cursor.copy(f"COPY bulk_prediction_update_stage ({columns}) FROM STDIN") as copy:
                copy.write(rows.copy_text())
            assignments = ", ".join(f"{c} = s.{c}" for c in PREDICTION_VALUE_COLUMNS)
            cursor.execute(
                f"UPDATE {table} AS p SET {assignments}, ratios = NULL, drivers = NULL "  # noqa: S608
                "FROM bulk_prediction_update_stage AS s WHERE p.id = s.id RETURNING p.id"
            )
            return {str(row[0]) for row in cursor.fetchall()}
        assignments = ", ".join(f"{c} = %s" for c in PREDICTION_VALUE_COLUMNS)
        cursor.executemany(
            f"UPDATE {table} SET {assignments}, ratios = NULL, drivers = NULL WHERE id = %s",  # noqa: S608
            _sqlite_timestamps(rows).rows((*PREDICTION_VALUE_COLUMNS, "id")),
        )
    # SQLite holds the database write lock for the whole chunk transaction: the rows looked up are all still there
    return set(rows.varying["id"])


def company_summaries_refresh_bulk(*, company_ids: list) -> int:
    """Set-based refresh of the companies' latest-prediction summaries and counts (one UPDATE per batch of
    companies, correlated subqueries on the ``pred_latest_per_company`` index): the bulk twin of
    ``services.company_summaries_refresh``."""
    predictions = Prediction.objects.filter(company=OuterRef("pk")).order_by()
    annual = predictions.filter(kind=PredictionKind.ANNUAL).order_by("-reporting_year", "-created_at")
    quarterly = predictions.filter(kind=PredictionKind.QUARTERLY).order_by(
        "-reporting_year", "-reporting_quarter", "-created_at"
    )
    count = predictions.values("company").annotate(n=Count("id")).values("n")
    updated = 0
    for batch in _batched(company_ids):
        if connection.vendor == "postgresql":  # one array parameter instead of thousands of quoted values
            batch = RawSQL("SELECT unnest(%s::uuid[])", [_array_literal([str(c) for c in batch])])
        updated += Company.objects.filter(pk__in=batch).update(
            prediction_count=Coalesce(Subquery(count[:1]), 0),
            latest_annual_prediction_id=Subquery(annual.values("id")[:1]),
            latest_annual_reporting_year=Subquery(annual.values("reporting_year")[:1]),
            latest_annual_probability=Subquery(annual.values("probability")[:1]),
            latest_annual_risk_level=Coalesce(Subquery(annual.values("risk_level")[:1]), Value("")),
            latest_annual_rating=Coalesce(Subquery(annual.values("rating")[:1]), Value("")),
            latest_quarterly_prediction_id=Subquery(quarterly.values("id")[:1]),
            latest_quarterly_reporting_year=Subquery(quarterly.values("reporting_year")[:1]),
            latest_quarterly_reporting_quarter=Subquery(quarterly.values("reporting_quarter")[:1]),
            latest_quarterly_probability=Subquery(quarterly.values("probability")[:1]),
            latest_quarterly_risk_level=Coalesce(Subquery(quarterly.values("risk_level")[:1]), Value("")),
            latest_quarterly_rating=Coalesce(Subquery(quarterly.values("rating")[:1]), Value("")),
        )
    return updated


# --- Running a job ----------------------------------------------------------------------------------------------------
class JobSuperseded(Exception):
    """A newer execution of the job owns it now; this one stops without writing."""


def _error_entries(parsed: ParsedChunk, first_row: int) -> list[dict[str, Any]]:
    return [{"row": first_row + p + 1, "field": f, "message": m} for p, f, m in parsed.errors]


PROGRESS_FIELDS = (
    "total_rows",
    "processed_rows",
    "created_rows",
    "updated_rows",
    "succeeded_rows",
    "skipped_rows",
    "failed_rows",
    "error_count",
    "errors",
)
"""The job's counters that every committed chunk moves forward."""


def _process_chunk(job: BulkJob, chunk: pd.DataFrame | ParsedChunk, attempt: int) -> bool:
    """Validate, score and store one chunk (a frame of the file, or one ``prepare_chunk`` made of it), committed
    with the job's progress. False when the job was cancelled."""
    parsed = chunk if isinstance(chunk, ParsedChunk) else prepare_chunk(chunk, job.kind)
    frame = parsed.frame
    first_row = int(frame.index[0])
    n = len(frame)
    status = np.full(n, "f", dtype=object)
    probability = np.full(n, np.nan)
    messages: dict[int, str] = {}
    for p, column, message in parsed.errors:
        messages[p] = f"{messages[p]}; {column}: {message}" if p in messages else f"{column}: {message}"
    errors = _error_entries(parsed, first_row)

    with transaction.atomic():
        locked = BulkJob.objects.select_for_update().get(pk=job.pk)
        if locked.attempt != attempt or locked.processed_rows != first_row or locked.status != BulkJobStatus.RUNNING:
            raise JobSuperseded
        if locked.cancel_requested:
            _finish(locked, BulkJobStatus.CANCELLED)
            return False
        valid_positions = np.flatnonzero(parsed.valid)
        touched: set = set()
        if len(valid_positions):
            company_of = _companies_for(job, parsed, valid_positions)
            company_by_position = np.full(n, None, dtype=object)
            company_by_position[valid_positions] = [company_of[s] for s in parsed.symbol[valid_positions].tolist()]
            # each layer sees the previous ones as stored, so a key repeated inside the chunk follows on_duplicate
            # exactly as across chunks
            for depth in range(int(parsed.layer.max()) + 1):
                positions = np.flatnonzero(parsed.layer == depth)
                result = _write_layer(job, parsed, positions, company_by_position)
                status[positions] = result.status
                probability[positions] = result.probability
                for i, message in result.messages.items():
                    messages[int(positions[i])] = message
                touched |= result.company_ids
        for p in np.flatnonzero(parsed.valid & (status == "f")):
            if p in messages:
                errors.append({"row": first_row + int(p) + 1, "field": NON_FIELD, "message": messages[int(p)]})
        errors.sort(key=lambda e: e["row"])
        if touched:
            company_summaries_refresh_bulk(company_ids=list(touched))
        BulkJobChunk.objects.create(
            job_id=job.pk,
            first_row=first_row,
            row_count=n,
            outcomes={
                "status": "".join(status.tolist()),
                "probability": np.where(np.isnan(probability), None, probability).tolist(),
                "messages": {str(p): m for p, m in messages.items()},
            },
        )
        codes = "".join(status.tolist())
        created, updated_count = codes.count("c"), codes.count("u")
        locked.processed_rows = first_row + n
        locked.created_rows += created
        locked.updated_rows += updated_count
        locked.succeeded_rows += created + updated_count
        locked.skipped_rows += codes.count("s")
        locked.failed_rows += codes.count("f")
        locked.error_count += len(errors)
        room = MAX_STORED_ERRORS - len(locked.errors)
        if room > 0:
            locked.errors = [*locked.errors, *errors[:room]]
        if locked.total_rows is not None and locked.processed_rows > locked.total_rows:
            locked.total_rows = locked.processed_rows
        locked.heartbeat_at = timezone.now()
        locked.save(update_fields=[*PROGRESS_FIELDS, "heartbeat_at"])
        organization_id = job.organization_id
        transaction.on_commit(lambda: organization_data_changed(organization_id))
    _copy_progress(locked, job)
    return True


def _copy_progress(source: BulkJob, target: BulkJob) -> None:
    for name in (*PROGRESS_FIELDS, "status", "finished_at", "failure_message"):
        setattr(target, name, getattr(source, name))


def _finish(locked: BulkJob, status: str, failure_message: str = "") -> None:
    """Close the job (inside the caller's transaction, job row locked): one audit event for the whole job."""
    locked.status = status
    locked.finished_at = timezone.now()
    locked.failure_message = failure_message
    if status == BulkJobStatus.SUCCEEDED or locked.total_rows is None:
        locked.total_rows = locked.processed_rows
    locked.save(update_fields=["status", "finished_at", "failure_message", "total_rows"])
    token = request_id_var.set(locked.request_id or "-")
    try:
        audit_event_record(
            organization=locked.organization,
            actor=locked.created_by,
            action="create",
            target=locked,
            changes={
                "bulk_job": {
                    "status": status,
                    "kind": locked.kind,
                    "file_name": locked.file_name,
                    "on_duplicate": locked.on_duplicate,
                    "processed_rows": locked.processed_rows,
                    "created_predictions": locked.created_rows,
                    "updated_predictions": locked.updated_rows,
                    "skipped_rows": locked.skipped_rows,
                    "failed_rows": locked.failed_rows,
                }
            },
        )
    finally:
        request_id_var.reset(token)
    organization_id = locked.organization_id
    transaction.on_commit(lambda: organization_data_changed(organization_id))


def _claim(job_id) -> tuple[BulkJob, int] | None:
    """Start an execution: a new attempt number under the row lock, or None when there is nothing to do."""
    job = BulkJob.objects.filter(pk=job_id).first()
    if job is None or job.is_finished:
        return None
    total = count_rows(job) if job.total_rows is None else job.total_rows
    with transaction.atomic():
        locked = BulkJob.objects.select_for_update().get(pk=job_id)
        if locked.is_finished:
            return None
        if locked.cancel_requested:
            _finish(locked, BulkJobStatus.CANCELLED)
            return None
        locked.attempt += 1
        locked.status = BulkJobStatus.RUNNING
        locked.started_at = locked.started_at or timezone.now()
        locked.heartbeat_at = timezone.now()
        locked.total_rows = locked.total_rows if locked.total_rows is not None else total
        locked.save(update_fields=["attempt", "status", "started_at", "heartbeat_at", "total_rows"])
    return locked, locked.attempt


def bulk_job_fail(job_id, message: str) -> None:
    """Mark a job failed (unless it already ended). Rows committed so far stay stored."""
    with transaction.atomic():
        locked = BulkJob.objects.select_for_update().filter(pk=job_id).first()
        if locked is not None and not locked.is_finished:
            _finish(locked, BulkJobStatus.FAILED, message)


def bulk_job_run(job_id, *, progress: Callable[[BulkJob], None] | None = None) -> BulkJob | None:
    """Execute (or resume) a job to its end. The body of the Celery task, the in-process runner and the import
    command. Database errors propagate (the task retries and resumes from the committed cursor); any other error
    fails the job with a message."""
    claimed = _claim(job_id)
    if claimed is None:
        return BulkJob.objects.filter(pk=job_id).first()
    job, attempt = claimed
    org_token = organization_id_var.set(str(job.organization_id))
    request_token = request_id_var.set(job.request_id or "-")
    try:
        if progress:
            progress(job)
        chunks = _prepared_chunks(iter_chunks(job, start_row=job.processed_rows), job.kind)
        with contextlib.closing(chunks):  # on a break or an error, the helper thread ends here
            for parsed in chunks:
                if not _process_chunk(job, parsed, attempt):
                    break
                if progress:
                    progress(job)
            else:
                with transaction.atomic():
                    locked = BulkJob.objects.select_for_update().get(pk=job.pk)
                    if locked.attempt != attempt or locked.is_finished:
                        raise JobSuperseded
                    _finish(locked, BulkJobStatus.CANCELLED if locked.cancel_requested else BulkJobStatus.SUCCEEDED)
    except JobSuperseded:
        logger.info("Bulk job %s attempt %s superseded by a newer execution", job_id, attempt)
    except DatabaseError:
        raise
    except Exception as error:
        logger.exception("Bulk job %s failed", job_id)
        bulk_job_fail(job_id, _failure_message(error))
    finally:
        organization_id_var.reset(org_token)
        request_id_var.reset(request_token)
    job.refresh_from_db()
    if progress:
        progress(job)
    return job


def _failure_message(error: Exception) -> str:
    if isinstance(error, pd.errors.ParserError):
        return f"The file could not be read past the rows already processed: {error}"
    if isinstance(error, mlcore.ModelArtefactError):
        return "The scoring models are unavailable. Try again later."
    return "The job stopped on an internal error; the rows already processed are stored."


# --- Creating, enqueueing and cancelling jobs -------------------------------------------------------------------------
def bulk_job_create(
    *,
    organization,
    created_by,
    kind: str,
    upload: File,
    file_name: str,
    on_duplicate: str = OnDuplicate.SKIP,
    content_type: str | None = None,
    chunk_size: int | None = None,
    request_id: str = "",
) -> BulkJob:
    """Check the upload (format 415, size 413, encoding/header/empty 400) and create a queued job with its file.
    Nothing is stored when a check fails."""
    file_format = detect_format(file_name, content_type)
    check_upload_size(upload.size)
    with contextlib.ExitStack() as stack:
        if hasattr(upload, "temporary_file_path"):  # a large upload, already streamed to a temporary file
            path = upload.temporary_file_path()
        elif not isinstance(upload, UploadedFile) and Path(str(upload.name)).is_file():  # a local file (command)
            path = str(upload.name)
        else:  # a small in-memory upload: inspect a temporary copy
            handle = stack.enter_context(tempfile.NamedTemporaryFile(suffix=f".{file_format}"))
            upload.seek(0)
            for block in upload.chunks():
                handle.write(block)
            handle.flush()
            path = handle.name
        inspect_upload(path, file_format, kind)
        upload.seek(0)
        job = BulkJob(
            organization=organization,
            created_by=created_by if getattr(created_by, "pk", None) else None,
            kind=kind,
            on_duplicate=on_duplicate,
            file_name=Path(file_name).name[:255],
            file_format=file_format,
            chunk_size=chunk_size or DEFAULT_CHUNK_SIZE,
            request_id=request_id if request_id != "-" else "",
        )
        job.file.save(f"{job.pk}.{file_format}", upload, save=False)
        job.save(force_insert=True)
    return job


def bulk_job_runner() -> str:
    """How jobs run: ``"celery"`` (a broker is configured), else in-process — ``"thread"`` (default: a background
    thread started when the job's transaction commits, so the upload answers at once and progress is live) or
    ``"inline"`` (synchronously in the caller, on commit; for tests and one-off scripts). The in-process mode is
    chosen by ``settings.ACCUNODE_BULK_JOBS_IN_PROCESS_MODE`` (``"thread"`` by default)."""
    if not settings.ACCUNODE_JOBS_IN_PROCESS:
        return "celery"
    mode = settings.ACCUNODE_BULK_JOBS_IN_PROCESS_MODE
    if mode not in ("thread", "inline"):
        raise ImproperlyConfigured(f"ACCUNODE_BULK_JOBS_IN_PROCESS_MODE must be 'thread' or 'inline', not {mode!r}.")
    return mode


def _run_in_thread(job_id) -> None:
    try:
        bulk_job_run(job_id)
    except Exception:
        logger.exception("Bulk job %s failed in the background thread", job_id)
        with contextlib.suppress(Exception):
            bulk_job_fail(job_id, "The job stopped on a database error; the rows already processed are stored.")
    finally:
        connections.close_all()


def bulk_job_enqueue(job: BulkJob) -> None:
    """The one decision of how a job runs (see ``bulk_job_runner``); happens once the job's row is committed."""
    runner = bulk_job_runner()
    job_id = job.pk
    if runner == "celery":
        from .tasks import process_bulk_job

        def send() -> None:
            try:
                process_bulk_job.delay(str(job_id))
            except Exception as error:  # broker down: say so now rather than leave the job queued forever
                logger.exception("Could not enqueue bulk job %s", job_id)
                bulk_job_fail(job_id, "The job queue is unavailable.")
                raise ServiceUnavailable("The job queue is unavailable. Try again shortly.") from error

        transaction.on_commit(send)
    elif runner == "inline":
        transaction.on_commit(lambda: bulk_job_run(job_id))
    else:
        transaction.on_commit(
            lambda: threading.Thread(
                target=_run_in_thread, args=(job_id,), name=f"bulk-job-{job_id}", daemon=True
            ).start()
        )


def bulk_job_cancel(*, job: BulkJob) -> BulkJob:
    """Cancel a queued job at once, or ask a running one to stop between chunks (committed chunks stay)."""
    with transaction.atomic():
        locked = BulkJob.objects.select_for_update().get(pk=job.pk)
        if locked.is_finished:
            raise Conflict(f"The job has already ended ({locked.status}).", details={"status": locked.status})
        locked.cancel_requested = True
        locked.save(update_fields=["cancel_requested"])
        if locked.status == BulkJobStatus.QUEUED:
            _finish(locked, BulkJobStatus.CANCELLED)
    return locked


def bulk_job_delete(*, job: BulkJob, actor) -> None:
    """Delete the record of an ended job (its predictions stay) and, once that commits, its uploaded file; audited.
    A queued or running job must be cancelled first."""
    with transaction.atomic():
        locked = BulkJob.objects.select_for_update().get(pk=job.pk)
        if not locked.is_finished:
            raise Conflict("The job has not ended yet; cancel it first.", details={"status": locked.status})
        audit_event_record(organization=locked.organization, actor=actor, action="delete", target=locked)
        file = locked.file
        locked.delete()
        if file:
            transaction.on_commit(lambda: file.storage.delete(file.name), robust=True)  # the record is gone anyway


# --- Results file -----------------------------------------------------------------------------------------------------
def formula_safe(series: pd.Series) -> pd.Series:
    """Text that a spreadsheet would run as a formula gets a leading ``'``; numbers (``-12.5``) stay as they are."""
    text = series.fillna("").astype(str)
    risky = text.str.startswith(FORMULA_PREFIXES)
    if risky.any():
        numeric = pd.to_numeric(text.where(risky), errors="coerce").notna()
        risky &= ~numeric
        text = text.where(~risky, "'" + text)
    return text


def iter_results_csv(job: BulkJob) -> Iterator[str]:
    """The results file, streamed: the input columns as given, then probability, risk level, rating, status, error."""
    chunks = {chunk.first_row: chunk for chunk in job.chunks.all()}
    first = True
    for frame in iter_text_chunks(job):
        start = int(frame.index[0])
        out = pd.DataFrame({column: formula_safe(frame[column]) for column in frame.columns}, index=frame.index)
        out.columns = [formula_safe(pd.Series([str(c)])).iat[0] for c in frame.columns]
        n = len(frame)
        probability = np.full(n, np.nan)
        status = np.full(n, RowStatus.NOT_PROCESSED, dtype=object)
        error = np.full(n, "", dtype=object)
        offset = 0
        while offset < n:
            chunk = chunks.get(start + offset)
            if chunk is None:
                break
            outcomes = chunk.outcomes
            size = min(chunk.row_count, n - offset)
            codes = outcomes["status"][:size]
            status[offset : offset + size] = [_STATUS_CODES[c] for c in codes]
            probability[offset : offset + size] = [np.nan if p is None else p for p in outcomes["probability"][:size]]
            for position, message in outcomes["messages"].items():
                if int(position) < size:
                    error[offset + int(position)] = message
            offset += chunk.row_count
        scored = ~np.isnan(probability)
        risk = np.full(n, "", dtype=object)
        rating = np.full(n, "", dtype=object)
        if scored.any():
            risk[scored] = mlcore.risk_levels_for(probability[scored])
            rating[scored] = mlcore.ratings_for(probability[scored])
        out["probability"] = np.where(scored, np.round(probability, 6).astype(str), "")
        out["risk_level"] = risk
        out["rating"] = rating
        out["status"] = status
        out["error"] = formula_safe(pd.Series(error, index=frame.index))
        buffer = io.StringIO()
        out.to_csv(buffer, index=False, header=first, lineterminator="\r\n")
        first = False
        yield buffer.getvalue()
    if first:  # no data rows could be read: the header alone
        yield ",".join(RESULT_COLUMNS) + "\r\n"
