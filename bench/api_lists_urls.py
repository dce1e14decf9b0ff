"""The site's URLs plus the API lists bench's baseline view (``bench.api_lists.bare_view``); bench only."""

from django.urls import path

from bench.api_lists import bare_view
from config.urls import urlpatterns as site

urlpatterns = [*site, path("bench/bare-meetings/", bare_view)]
