"""Benchmarks of the mock: cold start and query throughput, each against a bare Starlette app.

Run everything with ``python -m bench`` (or ``make bench``); ``python -m bench --quick`` is a
~30 s smoke run. Figures and their meaning are in BENCHMARKS.md; raw JSON goes to
``bench/results/``. Kept free of imports so ``python -m bench.baseline`` starts lean.
"""
