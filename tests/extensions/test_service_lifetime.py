"""A stopping service lets the requests it is answering finish, and takes no new ones."""

from __future__ import annotations

import asyncio
import socket

import pytest
from jupyterhub.services.auth import HubAuthenticated, HubOAuthenticated
from tornado import web
from tornado.httpclient import AsyncHTTPClient

from extensions.service_lifetime import FinishedOnStop, drain, listen


class Slow(FinishedOnStop, web.RequestHandler):
    started = asyncio.Event()
    answered = False

    async def get(self) -> None:
        Slow.started.set()
        await asyncio.sleep(0.3)
        self.finish("done")
        Slow.answered = True


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_request_being_answered_finishes_and_a_new_one_is_refused() -> None:
    async def scenario() -> None:
        Slow.started = asyncio.Event()
        port = free_port()
        server = listen(web.Application([("/", Slow)]), port, address="127.0.0.1")
        url = f"http://127.0.0.1:{port}/"
        answer = asyncio.ensure_future(AsyncHTTPClient().fetch(url, raise_error=False))
        await asyncio.wait_for(Slow.started.wait(), 10)
        await drain(server, grace=10)
        assert Slow.answered  # before drain returned
        response = await asyncio.wait_for(answer, 10)
        assert (response.code, response.body) == (200, b"done")
        with pytest.raises(ConnectionRefusedError):
            await AsyncHTTPClient().fetch(url)

    asyncio.run(scenario())


def test_drain_gives_up_after_its_grace() -> None:
    class Stuck(FinishedOnStop, web.RequestHandler):
        async def get(self) -> None:
            await asyncio.sleep(30)

    async def scenario() -> float:
        port = free_port()
        server = listen(web.Application([("/", Stuck)]), port, address="127.0.0.1")
        fetch = asyncio.ensure_future(
            AsyncHTTPClient().fetch(f"http://127.0.0.1:{port}/", raise_error=False)
        )
        await asyncio.sleep(0.2)
        loop = asyncio.get_running_loop()
        began = loop.time()
        await drain(server, grace=0.5)
        fetch.cancel()
        return loop.time() - began

    assert 0.5 <= asyncio.run(scenario()) < 5


def test_the_hubs_login_still_comes_before_tornados() -> None:
    # As the services' handlers are built: an anonymous browser must be sent to the hub's
    # login, not get tornado's "define the login_url setting" 500.
    class Page(FinishedOnStop, HubOAuthenticated, web.RequestHandler):
        pass

    assert Page.get_login_url is HubAuthenticated.get_login_url
    assert Page.get_current_user is HubAuthenticated.get_current_user
