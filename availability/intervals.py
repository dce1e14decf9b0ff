"""Half-open interval arithmetic: the one set of interval operations for availability and the solver.

An interval list is a list of ``(start, end)`` pairs with ``start < end``. ``normalize`` sorts and
merges touching or overlapping pairs, the shape every function here returns; it matches what
PostgreSQL's multiranges do for ``[)`` ranges, so the SQLite path and PostgreSQL give the same answers.

The points are datetimes for availability (``Interval``) and whole grid steps for the scheduling
solver (``Span[int]``): the same code answers both, so a fix here holds for both.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import TypeVar

#: A point on a time line: an aware datetime, or a step on the solver's grid.
P = TypeVar("P", datetime, int)
#: ``[start, end)`` between two points of the same kind.
Span = tuple[P, P]
#: ``[start, end)`` in time: busy, free or requested time.
Interval = tuple[datetime, datetime]


def normalize(intervals: Iterable[Span[P]]) -> list[Span[P]]:
    merged: list[list[P]] = []
    for start, end in sorted(i for i in intervals if i[0] < i[1]):
        if merged and start <= merged[-1][1]:
            if end > merged[-1][1]:
                merged[-1][1] = end
        else:
            merged.append([start, end])
    return [(a, b) for a, b in merged]


def union(*lists: Iterable[Span[P]]) -> list[Span[P]]:
    return normalize(i for lst in lists for i in lst)


def intersect(a: list[Span[P]], b: list[Span[P]]) -> list[Span[P]]:
    """Both arguments normalized."""
    out: list[Span[P]] = []
    i = j = 0
    while i < len(a) and j < len(b):
        start, end = max(a[i][0], b[j][0]), min(a[i][1], b[j][1])
        if start < end:
            out.append((start, end))
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return out


def subtract(a: list[Span[P]], b: list[Span[P]]) -> list[Span[P]]:
    """``a`` minus ``b``; both normalized."""
    out: list[Span[P]] = []
    j = 0
    for start, end in a:
        cursor = start
        while j < len(b) and b[j][1] <= cursor:
            j += 1
        k = j
        while k < len(b) and b[k][0] < end:
            if b[k][0] > cursor:
                out.append((cursor, b[k][0]))
            cursor = max(cursor, b[k][1])
            if cursor >= end:
                break
            k += 1
        if cursor < end:
            out.append((cursor, end))
    return out


def clip(intervals: Iterable[Span[P]], start: P, end: P) -> list[Span[P]]:
    return intersect(normalize(intervals), [(start, end)]) if start < end else []


def overlaps(intervals: Iterable[Span[P]], start: P, end: P) -> bool:
    """Whether any of ``intervals`` (normalized or not) shares time with ``[start, end)``."""
    return any(max(a, start) < min(b, end) for a, b in intervals)
