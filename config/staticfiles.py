"""Static files in production: whitenoise's compressed storage with content-hashed names.

The planner's script is native ES modules (``web/static/web/planner.js`` and ``planner/*.js``) that
import each other by relative path. A hashed entry module importing ``./planner/blocks.js`` would
load the unhashed copy — cached apart from the entry and possibly from another deploy — so the
imports are rewritten to the hashed names too. Django does that only when asked
(``support_js_module_import_aggregation``); its patterns need each ``import … from "…";`` to end with
a semicolon, and the modules may not import each other in a circle (a file's hash would depend on
itself; collectstatic then fails with "Max post-process passes exceeded").
"""

from __future__ import annotations

from whitenoise.storage import CompressedManifestStaticFilesStorage


class StaticFilesStorage(CompressedManifestStaticFilesStorage):
    """Hashed, compressed files whose ES module imports point at the hashed names."""

    support_js_module_import_aggregation = True
