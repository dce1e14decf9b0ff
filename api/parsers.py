"""The JSON parser the API uses: refuses bodies Python's decoder cannot take apart without crashing.

A module of its own, not part of ``api.base``: ``REST_FRAMEWORK["DEFAULT_PARSER_CLASSES"]`` names it, and DRF
imports it while ``rest_framework.views`` itself is loading, before any view base could be defined.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser


class SafeJSONParser(JSONParser):
    """DRF's JSON parser, plus a 400 for nesting deeper than the interpreter's recursion limit.

    ``json.loads`` raises ``RecursionError`` on e.g. 50,000 nested arrays; DRF catches only
    ``ValueError``, so such a body was a 500.
    """

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Mapping[str, Any] | None = None) -> Any:
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError("JSON parse error - nested too deeply.") from None
