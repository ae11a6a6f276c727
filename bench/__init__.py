"""Benchmarks (``make bench``): measurements on this machine, run as scripts or via ``run()``."""
