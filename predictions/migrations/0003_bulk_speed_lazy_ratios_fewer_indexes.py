"""Bulk scoring speed (issue 5):

- ``ratios`` nullable: bulk jobs leave it empty and the first retrieval fills it together with the drivers.
- No single-column indexes on ``organization_id``, ``company_id`` and ``created_by_id``: the composite indexes
  ``pred_org_kind_*``, ``pred_latest_per_company`` and ``pred_quota`` start with those columns and serve their
  lookups and cascades. Only the indexes are dropped (``DROP INDEX``, the same on PostgreSQL and SQLite); the foreign
  key constraints stay as they are — a plain ``AlterField`` would drop and re-validate them on PostgreSQL.
- ``pred_quota`` partial (``source = 'single'``): only single predictions count against the quota.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

TABLE = "predictions_prediction"
# The names Django gave the foreign-key indexes in 0001 (schema_editor._create_index_name of the table and column).
FK_INDEXES = {
    "company_id": "predictions_prediction_company_id_48c1e79f",
    "created_by_id": "predictions_prediction_created_by_id_df0b6a1d",
    "organization_id": "predictions_prediction_organization_id_36d76b4c",
}


class Migration(migrations.Migration):
    dependencies = [
        ("companies", "0001_initial"),
        ("organizations", "0002_auditevent"),
        ("predictions", "0002_bulk_jobs"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AlterField(
            model_name="prediction",
            name="ratios",
            field=models.JSONField(
                blank=True,
                help_text=(
                    "The model's features of the statement. Bulk predictions fill ratios and drivers on first "
                    "retrieval."
                ),
                null=True,
            ),
        ),
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="prediction",
                    name="company",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="predictions",
                        to="companies.company",
                    ),
                ),
                migrations.AlterField(
                    model_name="prediction",
                    name="created_by",
                    field=models.ForeignKey(
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                migrations.AlterField(
                    model_name="prediction",
                    name="organization",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="predictions",
                        to="organizations.organization",
                    ),
                ),
            ],
            database_operations=[
                migrations.RunSQL(
                    sql=f'DROP INDEX IF EXISTS "{name}"',
                    reverse_sql=f'CREATE INDEX "{name}" ON "{TABLE}" ("{column}")',
                )
                for column, name in FK_INDEXES.items()
            ],
        ),
        migrations.RemoveIndex(model_name="prediction", name="pred_quota"),
        migrations.AddIndex(
            model_name="prediction",
            index=models.Index(
                condition=models.Q(("source", "single")),
                fields=["created_by", "source", "created_at"],
                name="pred_quota",
            ),
        ),
    ]
