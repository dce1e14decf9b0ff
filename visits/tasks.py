from celery import shared_task

from . import services


@shared_task(name="visits.complete_past_visits")
def complete_past_visits() -> int:
    return services.visits_complete_past()
