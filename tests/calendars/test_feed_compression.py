"""Big feeds cheaply: bodies stored gzip-compressed, sent compressed to clients that accept gzip,
byte-identical once decompressed, and a 304 that never reads the body from the cache."""

from __future__ import annotations

import gzip
from urllib.parse import urlsplit

import pytest
from django.http import StreamingHttpResponse
from django.test import RequestFactory

from calendars import feeds
from calendars.links import meeting_ics_url, person_feed_url
from tests.factories import PersonFactory, UserFactory
from tests.support.ical_checks import assert_valid_ical

pytestmark = pytest.mark.django_db


@pytest.fixture
def subscribed(make_meeting, rich_meeting):
    person = PersonFactory()
    meetings = [make_meeting(title=f"Meeting {i}", participants=[(person, "guest")]) for i in range(5)]
    return person, meetings, urlsplit(person_feed_url(person)).path


def _vary(response) -> set[str]:
    return {part.strip().lower() for part in response.get("Vary", "").split(",") if part.strip()}


def _gzip_get(client, path, **headers):
    return client.get(path, headers={"Accept-Encoding": "gzip, deflate, br", **headers})


def test_gzip_round_trip_is_byte_identical_and_varies_on_accept_encoding(client, subscribed, feed_cache):
    _person, meetings, path = subscribed
    plain = client.get(path)  # renders, stores compressed, serves the rendered bytes
    assert plain.status_code == 200 and "Content-Encoding" not in plain
    assert_valid_ical(plain.content)
    assert all(m.uid in plain.content.decode() for m in meetings)

    zipped = _gzip_get(client, path)  # from the cache, as stored
    assert zipped.status_code == 200 and zipped["Content-Encoding"] == "gzip"
    assert zipped["Content-Type"] == "text/calendar; charset=utf-8"
    assert gzip.decompress(zipped.content) == plain.content
    assert len(zipped.content) < len(plain.content)
    assert "accept-encoding" in _vary(plain) and "accept-encoding" in _vary(zipped)
    assert zipped["ETag"] == "W/" + plain["ETag"]  # the same validator, weak for the compressed form

    feed_cache()  # a new process with an empty cache: the compressed one is rendered first
    first = _gzip_get(client, path)
    assert gzip.decompress(first.content) == plain.content
    again = client.get(path)  # identity from the compressed store
    assert again.content == plain.content


def test_the_body_is_stored_compressed(client, subscribed, feed_cache, monkeypatch):
    _person, _meetings, path = subscribed
    stored = {}
    real_set = feeds.cache.set

    def spy(key, value, *args, **kwargs):
        if "feed-body" in key:
            stored[key] = value
        return real_set(key, value, *args, **kwargs)

    monkeypatch.setattr(feeds.cache, "set", spy)
    raw = client.get(path).content
    (value,) = stored.values()
    assert value[:2] == b"\x1f\x8b" and gzip.decompress(value) == raw


@pytest.mark.parametrize("weak", [True, False])
def test_304_never_reads_the_body_from_the_cache(client, subscribed, monkeypatch, weak):
    _person, _meetings, path = subscribed
    etag = _gzip_get(client, path)["ETag"] if weak else client.get(path)["ETag"]
    assert etag.startswith("W/") == weak
    real_get = feeds.cache.get
    read = []

    def spy(key, *args, **kwargs):
        read.append(key)
        return real_get(key, *args, **kwargs)

    monkeypatch.setattr(feeds.cache, "get", spy)
    for response in (_gzip_get(client, path, If_None_Match=etag), client.get(path, headers={"If-None-Match": etag})):
        assert response.status_code == 304 and not response.content
        assert "accept-encoding" in _vary(response)
    assert not [key for key in read if "feed-body" in key]


def test_big_bodies_are_streamed_decompressed_to_clients_without_gzip(client, subscribed, monkeypatch):
    _person, _meetings, path = subscribed
    raw = client.get(path).content  # rendered and stored
    monkeypatch.setattr(feeds, "STREAM_OVER", 100)
    monkeypatch.setattr(feeds, "STREAM_PIECE", 64)  # many pieces
    response = client.get(path)
    assert isinstance(response, StreamingHttpResponse)
    streamed = b"".join(response.streaming_content)
    assert streamed == raw and int(response["Content-Length"]) == len(raw)


def test_the_single_meeting_download_varies_on_credentials_and_encoding(client, make_meeting):
    person = PersonFactory(user=UserFactory())
    meeting = make_meeting(participants=[(person, "host")])
    client.force_login(person.user)
    response = _gzip_get(client, urlsplit(meeting_ics_url(meeting)).path)
    assert response.status_code == 200 and response["Content-Encoding"] == "gzip"
    assert _vary(response) >= {"cookie", "authorization", "accept-encoding"}
    assert meeting.uid in gzip.decompress(response.content).decode()


@pytest.mark.parametrize(("header", "gzip_ok"), [
    ("", False),
    ("gzip", True),
    ("GZIP", True),
    ("gzip, deflate, br", True),
    ("br;q=1.0, gzip;q=0.8, *;q=0.1", True),
    ("gzip;q=0", False),
    ("gzip; q=0.000", False),
    ("identity", False),
    ("*", True),
    ("*;q=0, gzip", True),
    ("gzip;q=0, *", False),
    ("x-gzip", True),
    ("gzip;q=nonsense", False),
])
def test_accept_encoding_is_read_with_its_q_values(header, gzip_ok):
    request = RequestFactory().get("/", headers={"Accept-Encoding": header} if header else {})
    assert feeds.accepts_gzip(request) is gzip_ok
