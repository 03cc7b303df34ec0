"""``manage.py evaluate_models``: metrics of a shipped model on a labelled CSV (``default_next_year``)."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from mlcore.csvio import evaluate_csv


class Command(BaseCommand):
    help = "ROC AUC, PR AUC, Brier, KS, reliability by decile and the Altman Z baseline on a labelled CSV."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--data", required=True, help="CSV or .csv.gz with the financial fields and the label")
        parser.add_argument("--kind", choices=["annual", "quarterly"], default="annual")
        parser.add_argument("--target", default="default_next_year")
        parser.add_argument("--json", action="store_true", help="print one JSON document")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            metrics = evaluate_csv(options["data"], options["kind"], options["target"])
        except (OSError, ValueError) as exc:
            raise CommandError(str(exc)) from exc
        if options["json"]:
            self.stdout.write(json.dumps(metrics, indent=1, sort_keys=True))
            return
        table = metrics.pop("reliability_by_decile")
        for key in sorted(metrics):
            self.stdout.write(f"{key:>24}: {metrics[key]}")
        self.stdout.write("decile      rows   mean_pd  observed  defaults")
        for row in table:
            self.stdout.write(
                f"{row['decile']:>6} {row['rows']:>9} {row['mean_pd']:>9.5f} {row['observed_rate']:>9.5f}"
                f" {row['defaults']:>9}"
            )
