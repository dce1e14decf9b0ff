"""Plain half-open interval arithmetic in Python: the SQLite path and the reference for tests.

An interval list is a list of ``(start, end)`` pairs with ``start < end``. ``normalize`` sorts and
merges touching or overlapping pairs, the shape every function here returns; it matches what
PostgreSQL's multiranges do for ``[)`` ranges, so both paths give the same answers.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

Interval = tuple[datetime, datetime]


def normalize(intervals: Iterable[Interval]) -> list[Interval]:
    merged: list[list[datetime]] = []
    for start, end in sorted(i for i in intervals if i[0] < i[1]):
        if merged and start <= merged[-1][1]:
            if end > merged[-1][1]:
                merged[-1][1] = end
        else:
            merged.append([start, end])
    return [(a, b) for a, b in merged]


def union(*lists: Iterable[Interval]) -> list[Interval]:
    return normalize(i for lst in lists for i in lst)


def intersect(a: list[Interval], b: list[Interval]) -> list[Interval]:
    """Both arguments normalized."""
    out: list[Interval] = []
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


def subtract(a: list[Interval], b: list[Interval]) -> list[Interval]:
    """``a`` minus ``b``; both normalized."""
    out: list[Interval] = []
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


def clip(intervals: Iterable[Interval], start: datetime, end: datetime) -> list[Interval]:
    return intersect(normalize(intervals), [(start, end)]) if start < end else []
