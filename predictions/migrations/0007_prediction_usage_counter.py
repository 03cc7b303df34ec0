"""The daily prediction cap counts scorings in ``PredictionUsage`` instead of the predictions on file (which a delete
undid). Today's counts start from the single predictions created today, as the old rule counted them."""

import datetime as dt

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


def count_today_s_predictions(apps, schema_editor):
    Prediction, PredictionUsage = (
        apps.get_model("predictions", "Prediction"),
        apps.get_model("predictions", "PredictionUsage"),
    )
    today = dt.datetime.now(dt.UTC).date()
    day_start = dt.datetime.combine(today, dt.time.min, tzinfo=dt.UTC)
    made_today = (
        Prediction.objects.filter(source="single", created_at__gte=day_start, created_by__isnull=False)
        .values("created_by")
        .annotate(count=models.Count("id"))
    )
    PredictionUsage.objects.bulk_create(
        PredictionUsage(user_id=row["created_by"], day=today, count=row["count"]) for row in made_today
    )


class Migration(migrations.Migration):
    dependencies = [
        ("predictions", "0006_prediction_fast_json_fields"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="PredictionUsage",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("day", models.DateField()),
                ("count", models.PositiveIntegerField(default=0)),
            ],
        ),
        migrations.AddField(
            model_name="predictionusage",
            name="user",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.CASCADE, related_name="+", to=settings.AUTH_USER_MODEL
            ),
        ),
        migrations.AddConstraint(
            model_name="predictionusage",
            constraint=models.UniqueConstraint(fields=("user", "day"), name="unique_prediction_usage_per_day"),
        ),
        # Counted while pred_quota still serves the query; the index goes last, so its lock is held only briefly.
        migrations.RunPython(count_today_s_predictions, migrations.RunPython.noop),
        migrations.RemoveIndex(
            model_name="prediction",
            name="pred_quota",
        ),
    ]
