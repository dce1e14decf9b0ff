"""ProgrammeSlot.kind: the part a meeting plays in a visit's programme, stored instead of guessed.

Until now the part was guessed on every proposal from the meeting's title (English and German words)
and its kind. Existing slots get that guess once, here; from now on the part is set when a meeting is
booked as that part (a proposal's welcome, topic, lunch or wrap-up), and titles are never read for it.
"""

from django.db import migrations, models

#: The words the guess used (``scheduling.programme.ROLE_WORDS`` before this migration), frozen here.
ROLE_WORDS = {
    # "introductions" (plural): "Introduction to organoids" is a talk, not the welcome.
    "welcome": ("welcome", "introductions", "willkommen", "begrüßung"),
    "lunch": ("lunch", "mittagessen", "mittagspause"),
    "wrap-up": ("wrap-up", "wrap up", "closing session", "closing remarks", "farewell", "debrief", "abschluss",
                "verabschiedung"),
}


def guessed_kind(title: str, meeting_kind: str) -> str:
    """The old guess: ``welcome``, ``lunch`` or ``wrap-up`` when the title says so, else blank."""
    title = title.casefold()
    if meeting_kind == "meal" and not any(w in title for w in ("dinner", "abendessen", "breakfast")):
        return "lunch"
    for kind, words in ROLE_WORDS.items():
        if any(w.casefold() in title for w in words):
            return kind
    return ""


def fill_kinds(apps, schema_editor):
    ProgrammeSlot = apps.get_model("visits", "ProgrammeSlot")
    changed = []
    for slot in ProgrammeSlot.objects.select_related("meeting").iterator(chunk_size=500):
        slot.kind = guessed_kind(slot.meeting.title, slot.meeting.kind)
        if slot.kind:
            changed.append(slot)
    ProgrammeSlot.objects.bulk_update(changed, ["kind"], batch_size=500)


class Migration(migrations.Migration):

    dependencies = [
        ('visits', '0002_default_timezone_setting'),
        ('events', '0006_i11_meetingical_to_calendars'),
    ]

    operations = [
        migrations.AddField(
            model_name='programmeslot',
            name='kind',
            field=models.CharField(blank=True, choices=[('welcome', 'Welcome'), ('topic', 'Topic meeting'), ('lunch', 'Lunch'), ('break', 'Break'), ('wrap-up', 'Wrap-up')], default='', max_length=10),
        ),
        migrations.RunPython(fill_kinds, migrations.RunPython.noop),
    ]
