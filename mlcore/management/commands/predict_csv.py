"""``manage.py predict_csv``: score a CSV offline (no database); bad rows get an error, the file goes on."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from mlcore.csvio import DEFAULT_CHUNK_ROWS, predict_csv
from mlcore.validation import FinancialsValidationError


class Command(BaseCommand):
    help = "Score INPUT.csv into OUTPUT.csv: input columns + probability, risk_level, rating, error."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("input")
        parser.add_argument("output")
        parser.add_argument("--kind", choices=["annual", "quarterly"], required=True)
        parser.add_argument("--chunk-rows", type=int, default=DEFAULT_CHUNK_ROWS)

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            counts = predict_csv(options["input"], options["output"], options["kind"], chunk_rows=options["chunk_rows"])
        except FinancialsValidationError as exc:
            raise CommandError(f"bad CSV header: {exc.details}") from exc
        except (OSError, ValueError) as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            self.style.SUCCESS(
                f"{counts['rows']} rows: {counts['scored']} scored, {counts['failed']} with errors"
                f" -> {options['output']}"
            )
        )
