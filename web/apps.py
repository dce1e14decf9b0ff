from django.apps import AppConfig


class WebConfig(AppConfig):
    """Server-rendered pages: home, request a visit, status page, staff views."""

    name = "web"
    verbose_name = "Web pages"

    def ready(self) -> None:
        from django.urls import reverse

        from core.links import link_register

        # Mails and the admin link the requester's status page without knowing it is a web page.
        link_register("visit-status", lambda visit: reverse("web:visit-status", kwargs={"token": visit.status_token}))
        # ... and the programme page behind it (the requester's way to the programme document).
        link_register("visit-programme", lambda visit: reverse(
            "web:visit-status-programme", kwargs={"token": visit.status_token, "fmt": "html"}))
        # The coordinator's answer summary links the visit page (the planner) and a programme's repair:
        # ``visit-repair`` takes ``(visit id, accepted proposal id)`` (``notifications.answers.repair_proposals``).
        link_register("visit-planner", lambda visit: reverse("web:staff-visit", kwargs={"pk": visit.pk}))
        link_register("visit-repair", lambda ids: reverse("web:staff-visit-proposal", kwargs={"pk": ids[0]})
                      + f"?proposal={ids[1]}#repair-start")
