"""A visit's programme document and its mail to the delegation, in the API.

* ``GET /api/v1/visits/{id}/programme.pdf`` and ``programme.html``: the printable programme
  (``visits.programme_document``) in ``?lang=en|de``, else the caller's ``Accept-Language``; an ETag
  of the programme version (``If-None-Match`` → 304 without building anything).
* ``POST /api/v1/visits/{id}/send-programme/``: "Send programme" — each delegation member and the
  requester get the whole programme in one mail (PDF and one .ics); later changes follow as one
  update mail per member and change.

Who may: the programme is readable by whoever may read the visit (coordinators, and hosts taking
part in it); sending is for coordinators. A visit the caller cannot see answers 404.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpResponseBase
from django.utils.translation import get_language
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.permissions import IsAuthenticated
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from visits import services as visit_services
from visits.models import Visit
from visits.programme_document import document_language, programme_response, requested_language
from visits.selectors import visit_list

from . import serializers as s
from . import visibility
from .base import ApiViewSet, int_or_404

LANG_PARAM = OpenApiParameter("lang", OpenApiTypes.STR, OpenApiParameter.QUERY, required=False, enum=["en", "de"],
                              description="The document's language; default: the caller's Accept-Language, else English.")
DOCUMENTS = ("programme_pdf", "programme_html")


@extend_schema(tags=["visits"])
class VisitProgrammeViewSet(ApiViewSet[Visit]):
    """The document itself is bytes, not JSON; errors still come in the API's JSON shape, so the ``Accept``
    header is not negotiated: a client asking for ``application/pdf`` gets the PDF or a JSON error."""

    permission_classes = [IsAuthenticated]
    queryset = Visit.objects.none()  # for the schema generator only: the visit is looked up by _visible

    def perform_content_negotiation(self, request: Request, force: bool = False) -> tuple[BaseRenderer, str]:
        if self.action in DOCUMENTS:
            renderer = JSONRenderer()
            return renderer, renderer.media_type
        return super().perform_content_negotiation(request, force)

    def _visible(self, pk: Any) -> Visit:
        """The visit if the caller may read it (coordinators: any; hosts: theirs), else 404."""
        visits = visit_list()
        if not self.coordinator:
            person = self.caller
            if person is None:
                raise NotFound()
            visits = visits.filter(pk__in=visibility.visit_ids(person))
        visit = visits.filter(pk=int_or_404(pk)).first()
        if visit is None:
            raise NotFound()
        return visit

    def _document(self, request: Request, pk: str, fmt: str) -> HttpResponseBase:
        visit = self._visible(pk)
        lang = document_language(requested_language(request.query_params.get("lang")), get_language())
        return programme_response(request, visit, lang=lang, fmt=fmt)

    @extend_schema(parameters=[LANG_PARAM], summary="The visit's programme as an A4 PDF",
                   responses={(200, "application/pdf"): OpenApiResponse(OpenApiTypes.BINARY, description="The PDF")})
    @action(detail=True, methods=["get"], url_path=r"programme\.pdf")
    def programme_pdf(self, request: Request, pk: str) -> HttpResponseBase:
        return self._document(request, pk, "pdf")

    @extend_schema(parameters=[LANG_PARAM], summary="The visit's programme as a page",
                   responses={(200, "text/html"): OpenApiResponse(OpenApiTypes.STR, description="The page")})
    @action(detail=True, methods=["get"], url_path=r"programme\.html")
    def programme_html(self, request: Request, pk: str) -> HttpResponseBase:
        return self._document(request, pk, "html")

    @extend_schema(request=None, responses={200: s.VisitSerializer},
                   summary="Send the programme: one mail per delegation member and the requester (PDF and .ics)")
    @action(detail=True, methods=["post"], url_path="send-programme")
    def send_programme(self, request: Request, pk: str) -> Response:
        """Coordinators only; the programme's readers (hosts taking part) get 403, anyone else 404."""
        visit = self._visible(pk)
        if not self.coordinator:
            raise PermissionDenied("Only coordinators may send a visit's programme.")
        visit = visit_services.visit_programme_send(visit=visit, by=self.caller)
        return Response(s.VisitSerializer(visit_list().get(pk=visit.pk), context={"request": request}).data)
