"""Bulk scoring speed (issue 5), continued: ``financials`` and ``components`` are PostgreSQL ``json`` instead of
``jsonb`` (``models.JSONTextField``). A bulk job writes both for every row with ``COPY``; building ``jsonb`` cost
PostgreSQL ~0.6 CPU-seconds per 100,000 rows more (the COPY 2.5 s → 1.9 s). Nothing queries inside these documents
(no ``financials__…``/``components__…`` lookups anywhere), they are read and written whole. ``ratios`` and
``drivers`` stay ``jsonb``: bulk jobs leave them empty. SQLite stores JSON as text either way: no change there (and
no table rebuild).
"""

from django.db import migrations

import predictions.models

TABLE = "predictions_prediction"
COLUMNS = ("financials", "components")


def to_type(type_name):
    def alter(apps, schema_editor):
        if schema_editor.connection.vendor != "postgresql":
            return
        changes = ", ".join(f'ALTER COLUMN "{c}" TYPE {type_name} USING "{c}"::{type_name}' for c in COLUMNS)
        schema_editor.execute(f'ALTER TABLE "{TABLE}" {changes}')

    return alter


class Migration(migrations.Migration):
    dependencies = [
        ("predictions", "0004_prediction_uuid7_ids"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="prediction",
                    name="components",
                    field=predictions.models.JSONTextField(default=dict),
                ),
                migrations.AlterField(
                    model_name="prediction",
                    name="financials",
                    field=predictions.models.JSONTextField(
                        help_text="The statement as given (quarterly: the quarter's own flows)."
                    ),
                ),
            ],
            database_operations=[migrations.RunPython(to_type("json"), to_type("jsonb"))],
        ),
    ]
