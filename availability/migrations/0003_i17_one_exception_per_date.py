"""One working-hours exception per date (issue 17): a day off once, no interval start twice.

Rows stored before the rule may repeat; the copies (same person, date and start; the longest kept)
go before the constraints that forbid them are added. The rows of one date form a union, and of
intervals with one start the longest is that union, so the person's hours read the same after.
"""

from django.db import migrations, models


def drop_repeated_exceptions(apps, schema_editor):
    HoursException = apps.get_model("availability", "HoursException")
    seen = set()
    repeated = []
    for row in HoursException.objects.order_by("person_id", "date", "start", "-end", "id").values_list(
            "id", "person_id", "date", "start"):
        key = row[1:]
        if key in seen:
            repeated.append(row[0])
        seen.add(key)
    HoursException.objects.filter(pk__in=repeated).delete()


class Migration(migrations.Migration):

    dependencies = [
        ('availability', '0002_i12_person_availability_proxy'),
        ('directory', '0004_merge_i10_i13'),
    ]

    operations = [
        migrations.RunPython(drop_repeated_exceptions, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name='hoursexception',
            constraint=models.UniqueConstraint(condition=models.Q(('start__isnull', True)), fields=('person', 'date'), name='hours_exception_one_day_off'),
        ),
        migrations.AddConstraint(
            model_name='hoursexception',
            constraint=models.UniqueConstraint(condition=models.Q(('start__isnull', False)), fields=('person', 'date', 'start'), name='hours_exception_one_start'),
        ),
    ]
