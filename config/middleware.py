"""Input no view should ever see: refused at the door with the answer a client can act on.

- a NUL byte in the path cannot name anything (no token, slug or id contains one) → 404 before any
  view could pass it to PostgreSQL, which rejects NUL in text with an error (a 500);
- a NUL byte in the query string → 400;
- on API paths, a body larger than ``DATA_UPLOAD_MAX_MEMORY_SIZE`` → 413 in the API's JSON error
  shape (Django's own check answers with an HTML 400 page, which an API client cannot parse);
- a chunked body (``Transfer-Encoding: chunked``, no ``Content-Length``) is read here, up to that
  limit: Django reads a body only as far as ``Content-Length`` says, so it took such a body for an
  empty one (a 3 MB chunked request got "field required" errors instead of 413). Read in full when
  the server has decoded the chunks (gunicorn sets ``wsgi.input_terminated``), it reaches the view
  like any other body; a server that cannot decode them (the development server) answers 411.

API paths answer in the API's error shape, ``{"error": {"code", "message"}}``; pages with the
site's 404 page.
"""

from __future__ import annotations

from io import BytesIO
from urllib.parse import unquote_to_bytes

from django.conf import settings
from django.core.handlers.wsgi import LimitedStream
from django.http import Http404, HttpResponse, HttpResponseBadRequest, JsonResponse
from django.template.loader import render_to_string
from django.utils.cache import add_never_cache_headers, patch_cache_control

from core.errors import DATABASE_RETRY_AFTER, is_database_stall

API_PREFIX = "/api/"


def api_error(status: int, code: str, message: str) -> JsonResponse:
    return JsonResponse({"error": {"code": code, "message": message}}, status=status)


class BadInputMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        is_api = request.path.startswith(API_PREFIX)
        if "\x00" in request.path:
            if is_api:
                return api_error(404, "not_found", "Not found.")
            raise Http404("No such page.")
        if b"\x00" in unquote_to_bytes(request.META.get("QUERY_STRING", "")):
            if is_api:
                return api_error(400, "invalid", "The query string contains a NUL byte.")
            return HttpResponseBadRequest("Bad query string.", content_type="text/plain")
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        if _chunked(request):
            if not request.META.get("wsgi.input_terminated"):
                if is_api:
                    return api_error(411, "length_required", "Send a Content-Length (this server reads no chunked bodies).")
                return HttpResponse("Length required.", status=411, content_type="text/plain")
            body = request.META["wsgi.input"].read(limit + 1)
            if len(body) > limit:
                if is_api:
                    return api_error(413, "too_large", f"The request body is larger than {limit} bytes.")
                return HttpResponse("Request body too large.", status=413, content_type="text/plain")
            request.META["CONTENT_LENGTH"] = str(len(body))
            request._stream = LimitedStream(BytesIO(body), len(body))
        if is_api and _content_length(request) > limit:
            return api_error(413, "too_large", f"The request body is larger than {limit} bytes.")
        return self.get_response(request)


def _chunked(request) -> bool:
    encoding = request.META.get("HTTP_TRANSFER_ENCODING", "").lower()
    return "chunked" in encoding and not request.META.get("CONTENT_LENGTH")


def _content_length(request) -> int:
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 0


class DatabaseStallMiddleware:
    """A statement the database cancelled (lock or statement timeout, config/database.py) → 503.

    Instead of a 500 — or, without the timeouts, a worker frozen until gunicorn kills it — the
    client hears "try again in a few seconds": ``Retry-After`` on every answer, the API's JSON
    error shape under /api/ (views the API's own handler has not answered already), a plain page
    elsewhere. The page is rendered without the request's context: the context processors would
    ask the stalled database for the signed-in user.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception: Exception) -> HttpResponse | None:
        if not is_database_stall(exception):
            return None
        if request.path.startswith(API_PREFIX):
            response: HttpResponse = api_error(503, "database_busy", "The database did not answer in time; retry shortly.")
        else:
            response = HttpResponse(render_to_string("503.html", {"retry_after": DATABASE_RETRY_AFTER}), status=503)
        response["Retry-After"] = str(DATABASE_RETRY_AFTER)
        add_never_cache_headers(response)
        return response


#: Pages reached through a secret link (the requester's status page and its forms, RSVP and
#: reminder opt-out links from mails). Calendar feeds at token URLs are not listed: calendar
#: clients rely on their ETag / Last-Modified caching, and they carry no cookies or forms.
SECRET_LINK_PREFIXES = ("/visits/status/", "/n/")


class SecretLinkNoStoreMiddleware:
    """``Cache-Control: no-store`` on pages reached by secret links.

    Such a page shows a person's data to whoever holds the link; a shared or back-button cache
    must not keep a copy for the next user of the machine or proxy.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if request.path.startswith(SECRET_LINK_PREFIXES):
            add_never_cache_headers(response)
            patch_cache_control(response, no_store=True, private=True)
        return response
