"""An index for ``?ordering=-latest_probability``: companies without an annual prediction come last (``DESC NULLS
LAST``), which the ascending ``(organization, latest_annual_probability)`` index cannot serve backwards. PostgreSQL
only: SQLite cannot index ``NULLS LAST`` (and has no use for it at its sizes)."""

from django.db import migrations

INDEX = "company_org_pd_desc"


def create_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        table = schema_editor.quote_name(apps.get_model("companies", "Company")._meta.db_table)
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {INDEX} ON {table} (organization_id, latest_annual_probability DESC NULLS LAST)"
        )


def drop_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX IF EXISTS {INDEX}")


class Migration(migrations.Migration):
    dependencies = [("companies", "0001_initial")]

    operations = [migrations.RunPython(create_index, drop_index)]
