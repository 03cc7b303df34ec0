from django.apps import AppConfig


class PredictionsConfig(AppConfig):
    name = "predictions"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from psycopg.types.json import set_json_loads

        from accunode import jsoncodec

        # PostgreSQL ``json`` columns (``JSONTextField``: statements, model components) are decoded by psycopg.
        set_json_loads(jsoncodec.loads)
