"""Apply migrations once even when several web containers start together.

On PostgreSQL a session advisory lock serialises ``migrate``: the first container migrates, the others wait
and then find nothing left to do. Other databases (SQLite) just migrate.
"""

import os
import sys
from pathlib import Path

MIGRATION_LOCK_ID = 0x41CC0DE  # any constant shared by every AccuNode process


def main() -> int:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "accunode.settings.production")

    import django
    from django.core.management import call_command
    from django.db import connection

    django.setup()
    if connection.vendor != "postgresql":
        call_command("migrate", interactive=False)
        return 0
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_lock(%s)", [MIGRATION_LOCK_ID])
        try:
            call_command("migrate", interactive=False)
        finally:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [MIGRATION_LOCK_ID])
    return 0


if __name__ == "__main__":
    sys.exit(main())
