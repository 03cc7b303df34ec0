"""Bulk scoring speed (issue 5), continued: ``Prediction.id`` defaults to a time-ordered UUID (version 7,
``predictions.ids``), as the bulk pipeline's ids do: new rows land at the right edge of the primary-key index
instead of on random pages of it. A Python-side default: no database change.
"""

from django.db import migrations, models

import predictions.ids


class Migration(migrations.Migration):
    dependencies = [
        ("predictions", "0003_bulk_speed_lazy_ratios_fewer_indexes"),
    ]

    operations = [
        migrations.AlterField(
            model_name="prediction",
            name="id",
            field=models.UUIDField(default=predictions.ids.uuid7, editable=False, primary_key=True, serialize=False),
        ),
    ]
