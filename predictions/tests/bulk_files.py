"""Bulk upload files for tests and benches: headers, rows built from the API.md sample statement, CSV/XLSX bytes."""

from __future__ import annotations

import csv
import io

from django.core.files.base import ContentFile

from mlcore import FINANCIAL_FIELDS
from predictions import bulk
from predictions.tests.factories import SAMPLE_FINANCIALS

ANNUAL_HEADER = ["symbol", "name", "sector", "reporting_year", *FINANCIAL_FIELDS]
QUARTERLY_HEADER = ["symbol", "name", "sector", "reporting_year", "reporting_quarter", *FINANCIAL_FIELDS]


def statement_row(symbol: str, year: int, quarter: str | None = None, *, scale: float = 1.0, **overrides) -> dict:
    """One file row: the sample statement scaled by ``scale``, with ``overrides`` (raw cell values)."""
    row = {"symbol": symbol, "name": f"{symbol} Corp", "sector": "Industrials", "reporting_year": year}
    if quarter is not None:
        row["reporting_quarter"] = quarter
    row.update({field: round(value * scale, 4) for field, value in SAMPLE_FINANCIALS.items()})
    row.update(overrides)
    return row


def csv_bytes(rows: list[dict], header: list[str] | None = None, *, bom: bool = False, delimiter: str = ",") -> bytes:
    header = header or (QUARTERLY_HEADER if rows and "reporting_quarter" in rows[0] else ANNUAL_HEADER)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=header, delimiter=delimiter, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    data = buffer.getvalue().encode("utf-8")
    return b"\xef\xbb\xbf" + data if bom else data


def xlsx_bytes(rows: list[dict], header: list[str] | None = None) -> bytes:
    import openpyxl

    header = header or (QUARTERLY_HEADER if rows and "reporting_quarter" in rows[0] else ANNUAL_HEADER)
    workbook = openpyxl.Workbook(write_only=True)
    sheet = workbook.create_sheet("rows")
    sheet.append(header)
    for row in rows:
        sheet.append([row.get(column) for column in header])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def read_results(content: bytes) -> list[dict]:
    return list(csv.DictReader(io.StringIO(content.decode("utf-8"))))


def create_bulk_job(organization, user, content: bytes, *, name="rows.csv", kind="annual", **options):
    """A queued bulk job of ``content`` through the real service (header checks, stored file, ``BulkJob``)."""
    return bulk.bulk_job_create(
        organization=organization,
        created_by=user,
        kind=kind,
        upload=ContentFile(content, name=name),
        file_name=name,
        **options,
    )
