"""MeetingICal now belongs to ``calendars``: removed from the events state only; the table stays."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("events", "0005_i10_participation_exclusive")]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="MeetingICal")],
            database_operations=[],
        ),
    ]
