"""Routes of API v1 (filled in by the API resources)."""

urlpatterns: list = []
