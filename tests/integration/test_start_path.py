"""Nothing optional on a server's start path delays it: the pull of course labs at start
runs beside the start, so a courses service that accepts connections and never answers
costs the user nothing (the server is up while the pull still waits)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest
import requests

from extensions.sandbox_server.courses_client import LOOKUP_TIMEOUT_S
from tests.support.hub import Hub

pytestmark = pytest.mark.integration


class HangingService:
    """Accepts every connection and never answers: the worst a service can do."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.open: list[socket.socket] = []
        self.opened_at: list[float] = []
        self._stop = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        self.sock.settimeout(0.2)
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.open.append(conn)
            self.opened_at.append(time.monotonic())

    def still_waiting(self) -> bool:
        """Some client is still connected, waiting for an answer (its request read and
        dropped; a closed connection reads as end of file)."""
        for conn in self.open:
            conn.setblocking(False)
            try:
                while conn.recv(65536):
                    pass
            except BlockingIOError:
                return True
            except OSError:
                continue
        return False

    def close(self) -> None:
        self._stop.set()
        for conn in self.open:
            conn.close()
        self.sock.close()


@pytest.fixture
def hanging() -> Iterator[HangingService]:
    service = HangingService()
    yield service
    service.close()


def test_a_hanging_courses_service_does_not_delay_the_start(make_hub, hanging) -> None:
    hub: Hub = make_hub(SANDBOX_COURSES_URL=f"http://127.0.0.1:{hanging.port}/services/courses/")
    assert hub.spawn("erin", {"image": "base", "slice": "cpu"}).status_code in (201, 202)
    hub.wait_ready("erin")
    assert hanging.opened_at, "the server asked the courses service at start"
    # Ready while the start-time pull is still waiting for its (never coming) answer.
    assert hanging.still_waiting()
    status = hub.slice_from_inside("erin")
    assert status["environment"]["SANDBOX_SLICE"] == "cpu"
    # The Course labs panel asks too: it gets a clear 503 after the lookup's own short
    # timeout, never the transfer timeout, and never a hang.
    t = time.monotonic()
    r = requests.get(
        f"{hub.url}/user/erin/api/sandbox/courses",
        headers={"Authorization": f"token {hub.user_token('erin')}"},
        timeout=LOOKUP_TIMEOUT_S + 30,
    )
    took = time.monotonic() - t
    assert r.status_code == 503, r.text
    assert "did not answer" in r.json()["message"]
    assert took < LOOKUP_TIMEOUT_S + 10, took
