"""``make bench``: every benchmark of the project, one after the other.

Each module exposes ``main()``; a benchmark that is not there yet (e.g. reminders) is skipped.
"""

from __future__ import annotations

import importlib
import importlib.util

BENCHMARKS = ("bench.feeds", "bench.api_lists", "bench.bulk_import", "bench.reminders", "bench.availability",
              "bench.scheduling", "bench.webhooks", "bench.duplicate_window")


def main() -> None:
    for name in BENCHMARKS:
        if importlib.util.find_spec(name) is None:
            continue
        print(f"\n== {name} ==")
        importlib.import_module(name).main()


if __name__ == "__main__":
    main()
