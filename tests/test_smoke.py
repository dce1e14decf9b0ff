import pytest


@pytest.mark.django_db
def test_home_answers(client):
    assert b"Request a visit" in client.get("/").content
