"""Benchmarks and their data generators. Entry point: ``python -m bench.run`` (``make bench``).

Figures go to ``bench/RESULTS.md``; generated data to ``bench/data/`` (git-ignored) and, on
PostgreSQL, to the ``bench`` schema. Nothing here runs at import.
"""
