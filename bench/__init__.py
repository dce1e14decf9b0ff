"""Benchmarks that print figures and ratios (``make bench``); timings are never asserted in tests."""
