"""``manage.py render_calendar_fragments``: fill the fragment store before feeds are polled.

Run it in the deployment after a change to the renderer (``calendars.ical.RENDERER_VERSION``) or to
the settings baked into fragments (``SITE_URL``, organiser), and after a bulk import that bypassed
the services: every subscribed feed's next poll then joins stored fragments instead of rendering.
Safe to run while the site serves (per-meeting locks; nothing is rendered twice) and to repeat.
"""

from __future__ import annotations

import time
from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand

from calendars import fragments


class Command(BaseCommand):
    help = "Render every stale calendar fragment (after a renderer change, a settings change or a bulk import)."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--queue", action="store_true",
                            help="hand the work to the Celery worker instead of rendering in this process")

    def handle(self, *args: Any, queue: bool = False, **options: Any) -> None:
        started = time.perf_counter()
        stale = fragments.stale_ids()
        if queue:
            from calendars.tasks import render_stale_soon

            # One coalesced task; it renders in bounded steps and queues its own continuation.
            queued = render_stale_soon(countdown=0)
            self.stdout.write(f"queued {len(stale)} stale calendar fragments"
                              + ("" if queued else " (a render task was already waiting)"))
            return
        rendered = fragments.render(stale)
        self.stdout.write(f"rendered {rendered} calendar fragments in {time.perf_counter() - started:.1f} s")
