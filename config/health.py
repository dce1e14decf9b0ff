"""``/healthz`` answered before host validation and HTTPS redirects.

Container health checks call ``http://127.0.0.1:8000/healthz`` with a Host header that is not in
``ALLOWED_HOSTS`` and without TLS; they must still get a plain 200 while the process is alive.
"""

from django.http import HttpResponse


class HealthCheckMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path == "/healthz":
            return HttpResponse("ok", content_type="text/plain")
        return self.get_response(request)
