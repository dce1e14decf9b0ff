"""MeetingICal, moved from ``events`` without moving its table (``events_meetingical``)."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True
    dependencies = [("events", "0006_i11_meetingical_to_calendars")]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="MeetingICal",
                    fields=[
                        ("meeting", models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, primary_key=True,
                                                         related_name="ical", serialize=False, to="events.meeting")),
                        ("version", models.CharField(max_length=32)),
                        ("rendered_for", models.DateTimeField()),
                        ("public", models.TextField()),
                        ("private", models.TextField()),
                    ],
                    options={"db_table": "events_meetingical"},
                ),
            ],
            database_operations=[],
        ),
    ]
