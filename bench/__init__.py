"""Benchmarks for companion: a synthetic vault generator (`bench.synth`) and the runner (`bench.run`)."""
