import pytest

from config.env import email_settings_from_url


def test_smtp_url_with_credentials_and_starttls():
    s = email_settings_from_url("smtp://user%40x:p%3Ass@mail.example.org:587?tls=1")
    assert s["EMAIL_HOST"] == "mail.example.org"
    assert s["EMAIL_PORT"] == 587
    assert s["EMAIL_HOST_USER"] == "user@x"
    assert s["EMAIL_HOST_PASSWORD"] == "p:ss"
    assert s["EMAIL_USE_TLS"] is True and s["EMAIL_USE_SSL"] is False


def test_smtps_defaults_to_implicit_tls_port():
    s = email_settings_from_url("smtps://mail.example.org")
    assert (s["EMAIL_PORT"], s["EMAIL_USE_SSL"], s["EMAIL_USE_TLS"]) == (465, True, False)


def test_file_url_writes_eml_files():
    s = email_settings_from_url("file:///tmp/mails")
    assert s["EMAIL_BACKEND"].endswith("EmlFileBackend") and s["EMAIL_FILE_PATH"] == "/tmp/mails"


def test_unknown_scheme_is_refused():
    with pytest.raises(ValueError, match="not supported"):
        email_settings_from_url("pigeon://loft")
