"""The real engines (one private dockerd, one private Slurm cluster) are session fixtures
of the whole run, so the backend suites and tests/security share one of each."""

pytest_plugins = ["tests.backends.engines"]
