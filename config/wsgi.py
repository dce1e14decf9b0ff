"""The web entry point (gunicorn, runserver): a process that loads it serves requests.

That is what makes it a *web* process, so this is where the database timeouts for web requests are
installed (``config.database``); the worker and management commands never load this module.
"""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
application = get_wsgi_application()

from config.database import use_web_timeouts  # noqa: E402  (needs the settings configured above)

use_web_timeouts()
