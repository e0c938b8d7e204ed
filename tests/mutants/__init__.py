"""Seeded mutants: bugs planted in copies of a backend and of docs/testing.md's billing code.

Each mutant is one semantic bug of the kind billing and metering code really has (a window off
by an hour or a second, an inclusive range end, a cache a late event or a cancel leaves stale, a
billing period or tier edge off by one). The toolkit shipped in `meterlib.testing`, used as
docs/testing.md says (its state machine, its recipes, its settings), must catch every one, and
shrink each failing example to a few steps. ``make test`` runs a sample (`test_mutants.py`);
``make mutants`` runs them all and prints the catch rate (``python -m tests.mutants``).
"""
