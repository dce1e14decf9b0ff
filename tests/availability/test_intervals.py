"""The interval operations against a point-set model, on grid steps (the solver) and on datetimes (availability).

Half-open spans of small integers are sets of their points; every operation must give the normalized
spans of the corresponding set operation. The same functions on datetimes must agree with the
integer answers shifted onto a time line.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from availability import intervals as iv

spans = st.lists(st.tuples(st.integers(-5, 40), st.integers(-5, 40)), max_size=8)
ORIGIN = datetime(2027, 3, 1, 8, tzinfo=UTC)


def points(spans_: list[tuple[int, int]]) -> set[int]:
    return {x for a, b in spans_ for x in range(a, b)}


def spans_of(pts: set[int]) -> list[tuple[int, int]]:
    """The normalized spans covering exactly ``pts``."""
    out: list[tuple[int, int]] = []
    for x in sorted(pts):
        if out and out[-1][1] == x:
            out[-1] = (out[-1][0], x + 1)
        else:
            out.append((x, x + 1))
    return out


def as_time(spans_: list[tuple[int, int]]) -> list[tuple[datetime, datetime]]:
    return [(ORIGIN + timedelta(minutes=15 * a), ORIGIN + timedelta(minutes=15 * b)) for a, b in spans_]


@given(spans)
def test_normalize_merges_touching_and_drops_empty(xs):
    out = iv.normalize(xs)
    assert out == spans_of(points(xs))
    assert iv.normalize(as_time(xs)) == as_time(out)


@given(spans, spans)
def test_union_intersect_subtract_are_the_set_operations(xs, ys):
    a, b = iv.normalize(xs), iv.normalize(ys)
    assert iv.union(xs, ys) == spans_of(points(xs) | points(ys))
    assert iv.intersect(a, b) == spans_of(points(xs) & points(ys))
    assert iv.subtract(a, b) == spans_of(points(xs) - points(ys))
    assert iv.subtract(as_time(a), as_time(b)) == as_time(iv.subtract(a, b))
    assert iv.intersect(as_time(a), as_time(b)) == as_time(iv.intersect(a, b))


@given(spans, st.integers(-5, 40), st.integers(-5, 40))
def test_clip_and_overlaps(xs, start, end):
    window = set(range(start, end))
    assert iv.clip(xs, start, end) == spans_of(points(xs) & window)
    assert iv.overlaps(xs, start, end) is bool(points(xs) & window)
    if start < end:
        assert iv.overlaps(as_time(xs), *as_time([(start, end)])[0]) is bool(points(xs) & window)
