"""Measuring what cross-track attention costs: sweeps over mixers, attention backends and track counts.

``options`` parses what to run, ``attention`` and ``model`` plan the cases, ``runner`` runs each in a fresh
``worker`` process, ``measure`` times and reads peak memory, ``results``, ``plot`` and ``markdown`` write
CSV, PNG and tables, and ``report`` checks the performance targets. The CLI is ``synctrack bench``.
"""
