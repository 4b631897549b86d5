"""Benchmarks: each `benchmarks/*_bench.py` module has a `main()`; `python -m benchmarks` runs
them all in turn. Figures and the commands that produced them are kept in RESULTS.md."""
