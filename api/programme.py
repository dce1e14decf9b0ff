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

from django.utils.translation import get_language
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from visits import services as visit_services
from visits.models import Visit
from visits.programme_document import document_language, programme_response, requested_language
from visits.selectors import visit_list

from . import serializers as s
from . import visibility
from .permissions import caller_person, is_coordinator
from .views import ApiMixin

LANG_PARAM = OpenApiParameter("lang", OpenApiTypes.STR, OpenApiParameter.QUERY, required=False, enum=["en", "de"],
                              description="The document's language; default: the caller's Accept-Language, else English.")


def visible_visit(request, pk) -> Visit:
    """The visit if the caller may read it (coordinators: any; hosts: theirs), else 404."""
    visits = visit_list()
    if not is_coordinator(request.user):
        person = caller_person(request.user)
        if person is None:
            raise NotFound()
        visits = visits.filter(pk__in=visibility.visit_ids(person))
    visit = visits.filter(pk=pk).first()
    if visit is None:
        raise NotFound()
    return visit


class ProgrammeDocumentView(ApiMixin, APIView):
    """Serves the document itself (bytes, not JSON); errors still come in the API's JSON shape, so the
    ``Accept`` header is not negotiated: a client asking for ``application/pdf`` gets the PDF or a JSON error."""

    fmt = "pdf"

    def perform_content_negotiation(self, request, force=False):
        renderer = JSONRenderer()
        return renderer, renderer.media_type

    def get(self, request, pk: int):
        visit = visible_visit(request, pk)
        lang = document_language(requested_language(request.query_params.get("lang")), get_language())
        return programme_response(request, visit, lang=lang, fmt=self.fmt)


@extend_schema(tags=["visits"], parameters=[LANG_PARAM], summary="The visit's programme as an A4 PDF",
               responses={(200, "application/pdf"): OpenApiResponse(OpenApiTypes.BINARY, description="The PDF")})
class ProgrammePdfView(ProgrammeDocumentView):
    fmt = "pdf"


@extend_schema(tags=["visits"], parameters=[LANG_PARAM], summary="The visit's programme as a page",
               responses={(200, "text/html"): OpenApiResponse(OpenApiTypes.STR, description="The page")})
class ProgrammeHtmlView(ProgrammeDocumentView):
    fmt = "html"


@extend_schema(tags=["visits"], request=None, responses={200: s.VisitSerializer},
               summary="Send the programme: one mail per delegation member and the requester (PDF and .ics)")
class SendProgrammeView(ApiMixin, APIView):
    def post(self, request, pk: int):
        visit = visible_visit(request, pk)
        if not is_coordinator(request.user):
            raise PermissionDenied("Only coordinators may send a visit's programme.")
        visit = visit_services.visit_programme_send(visit=visit, by=caller_person(request.user))
        return Response(s.VisitSerializer(visit_list().get(pk=visit.pk), context={"request": request}).data)
