"""Typed proposal data: an item's part becomes ``kind``; spec, participants and settings typed JSON fields.

``ProposalItem.kind`` held the meeting kind to book (meeting, meal…) and the part lived in
``spec["role"]``; now ``kind`` is the part (welcome, topic, lunch, break, wrap-up) and the meeting kind
follows from it (lunch: meal, break: break, else meeting). The role moves out of ``spec`` before the
fields become typed (their tables do not change). Booked programme slots take their item's part,
which is the truth where the title guess of ``visits.0003`` was only a guess.
"""

import scheduling.fields
from django.db import migrations, models

MEETING_KINDS = {"lunch": "meal", "break": "break"}


def role_to_kind(apps, schema_editor):
    ProposalItem = apps.get_model("scheduling", "ProposalItem")
    ProgrammeSlot = apps.get_model("visits", "ProgrammeSlot")
    items = list(ProposalItem.objects.all())
    for item in items:
        spec = dict(item.spec or {})
        role = spec.pop("role", None) or ("lunch" if item.kind == "meal" else "topic")
        item.kind, item.spec = role, spec
    ProposalItem.objects.bulk_update(items, ["kind", "spec"], batch_size=500)
    for item in items:
        if item.meeting_id:
            ProgrammeSlot.objects.filter(meeting_id=item.meeting_id).update(kind=item.kind)


def kind_to_role(apps, schema_editor):
    ProposalItem = apps.get_model("scheduling", "ProposalItem")
    items = list(ProposalItem.objects.all())
    for item in items:
        item.spec = {**(item.spec or {}), "role": item.kind}
        item.kind = MEETING_KINDS.get(item.kind, "meeting")
    ProposalItem.objects.bulk_update(items, ["kind", "spec"], batch_size=500)


class Migration(migrations.Migration):

    dependencies = [
        ('scheduling', '0002_i13_proposal_reasons_per_language'),
        ('visits', '0003_i18_programme_slot_kind'),
    ]

    operations = [
        migrations.RunPython(role_to_kind, kind_to_role),
        migrations.AlterField(
            model_name='proposal',
            name='settings',
            field=scheduling.fields.FrameField(),
        ),
        migrations.AlterField(
            model_name='proposalitem',
            name='kind',
            field=models.CharField(choices=[('welcome', 'Welcome'), ('topic', 'Topic meeting'), ('lunch', 'Lunch'), ('break', 'Break'), ('wrap-up', 'Wrap-up')], max_length=10),
        ),
        migrations.AlterField(
            model_name='proposalitem',
            name='participants',
            field=scheduling.fields.ParticipantsField(blank=True, default=tuple, help_text='[{"person": id, "role": "host"}]'),
        ),
        migrations.AlterField(
            model_name='proposalitem',
            name='spec',
            field=scheduling.fields.ItemSpecField(),
        ),
    ]
