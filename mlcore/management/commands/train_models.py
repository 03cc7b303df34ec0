"""``manage.py train_models``: train, validate and write the annual and quarterly artefacts and model cards."""

from __future__ import annotations

import json
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from mlcore.training import DEFAULT_DATA_PATH, train_models


class Command(BaseCommand):
    help = "Train the annual and quarterly ensembles (time-split validation), write artefacts, print the metrics."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--data", default=str(DEFAULT_DATA_PATH), help="labelled CSV(.gz) (default: mlcore/data)")
        parser.add_argument("--out", default=None, help="artefacts directory (default: mlcore/artefacts)")
        parser.add_argument("--seed", type=int, default=42, help="random seed (same seed, same bytes)")
        parser.add_argument("--kind", choices=["annual", "quarterly", "all"], default="all")

    def handle(self, *args: Any, **options: Any) -> None:
        kinds = ("annual", "quarterly") if options["kind"] == "all" else (options["kind"],)
        started = time.monotonic()
        cards = train_models(
            options["data"], options["out"], seed=options["seed"], kinds=kinds, log=lambda line: self.stdout.write(line)
        )
        for kind, card in cards.items():
            validation = {k: v for k, v in card["validation"].items() if k != "reliability_by_decile"}
            self.stdout.write(f"{kind} {card['model_version']} validation 2012-2014:")
            self.stdout.write(json.dumps(validation, indent=1, sort_keys=True))
            self.stdout.write("quality floor: " + json.dumps(card["quality_floor"], sort_keys=True))
        self.stdout.write(self.style.SUCCESS(f"trained {', '.join(kinds)} in {time.monotonic() - started:.0f} s"))
