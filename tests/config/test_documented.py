"""Every environment variable the settings read is documented and listed in .env.example."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SETTINGS = (ROOT / "config" / "settings.py").read_text()
READ = sorted(set(re.findall(r'env_(?:str|bool|list)\("([A-Z0-9_]+)"', SETTINGS)))


def test_settings_read_variables():
    assert {"DATABASE_URL", "REDIS_URL", "EMAIL_URL", "DJANGO_SECRET_KEY", "SITE_URL"} <= set(READ)


@pytest.mark.parametrize("name", READ)
def test_variable_is_documented(name):
    assert f"`{name}`" in (ROOT / "docs" / "configuration.md").read_text()
    assert re.search(rf"^#? ?{name}=", (ROOT / ".env.example").read_text(), re.MULTILINE)
