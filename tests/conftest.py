"""The real engines (one private dockerd, one private Slurm cluster) are session fixtures
of the whole run, so the backend suites and tests/security share one of each."""

import sys
from collections.abc import Iterator

import pytest

from tests.support import hub as hub_support

pytest_plugins = ["tests.backends.engines"]

SERVER_FIXTURES = frozenset(
    {
        "make_hub",
        "browser",
        "postgresql_url",
        "slurm_cluster",
        "slurm_hub",
        "docker_engine",
        "docker_hub",
    }
)
"""Fixtures that start real servers: a test using one is an ``integration`` test."""


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if SERVER_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.integration)


@pytest.fixture(autouse=True)
def _servers_are_marked(request: pytest.FixtureRequest) -> Iterator[None]:
    """A test that starts a hub without the ``integration`` marker fails: the quick tier
    (``make check``, ``-m "not integration"``) must never start one."""
    before = hub_support.HUBS_STARTED
    yield
    if (
        before != hub_support.HUBS_STARTED
        and request.node.get_closest_marker("integration") is None
    ):
        pytest.fail("this test starts a hub: mark it pytest.mark.integration", pytrace=False)


@pytest.fixture(autouse=True)
def _ansible_stays_out(request: pytest.FixtureRequest) -> Iterator[None]:
    """Importing Ansible patches sys.intern, which breaks torch for the rest of the
    interpreter (the notebooks' tests): only tests/ansible, run in a pytest of its own,
    may import it."""
    yield
    if "ansible" in sys.modules and "ansible" not in request.node.path.parts:
        pytest.fail("this test imported ansible: do it in tests/ansible", pytrace=False)
