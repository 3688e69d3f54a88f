"""Hypothesis profiles for the core property tests.

``sandbox-core`` (the default) keeps the whole core + ledger suite well under 90 s on
two cores; ``sandbox-core-thorough`` is for a local hunt
(``SANDBOX_HYPOTHESIS_PROFILE=sandbox-core-thorough``). The profiles are applied per
test (``tests/core/test_allocator_properties.py``), not loaded globally, so they never
change other folders' Hypothesis settings."""

from __future__ import annotations

from hypothesis import HealthCheck, settings

settings.register_profile(
    "sandbox-core",
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "sandbox-core-thorough",
    max_examples=3000,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
