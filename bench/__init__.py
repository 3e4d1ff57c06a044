"""Benchmark helpers for Letters QA (synthetic corpora for scale tests)."""
