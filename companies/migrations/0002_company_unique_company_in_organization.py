"""A unique constraint on (id, organization): the target of predictions' composite foreign key
(company_id, organization_id), which guarantees a prediction belongs to its company's organization
(predictions migration 0004)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("companies", "0001_initial"),
    ]

    operations = [
        migrations.AddConstraint(
            model_name="company",
            constraint=models.UniqueConstraint(fields=("id", "organization"), name="unique_company_in_organization"),
        ),
    ]
