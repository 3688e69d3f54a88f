"""The courses service's web side, as a real `python -m extensions.courses` process in
front of a stand-in hub (a tornado app in a thread) that can be slow, broken or gone:
streamed syncs, one transfer per user, upload limits, hub failures, non-ASCII names."""

from __future__ import annotations

import asyncio
import base64
import io
import json
import os
import socket
import subprocess
import sys
import threading
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

import pytest
import requests
from tornado import web

from extensions.courses.bundle import encode
from extensions.courses.disposition import ascii_fallback, attachment
from extensions.courses.inflight import RETRY_AFTER, InFlight
from extensions.sandbox_server.courses_client import CoursesClient, CoursesUnavailable
from tests.support.hub import REPO, wait_for

SERVICE_TOKEN = "service-secret"
SITE = """
courses:
  notebooks: NOTEBOOKS
  hub_timeout: 1
  hand_ins: {max_mb: 1, kept_per_student: 3}
  labs: {max_mb: 50}
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class FakeHub:
    """Just enough of the hub's API for the service: who a token is (/user) and a
    user's groups (/users/<name>). ``trouble[name]`` makes the groups lookup "slow"
    (never in time), "broken" (500), "gone" (closes the connection) or "nonsense"."""

    def __init__(self) -> None:
        self.port = free_port()
        self.tokens: dict[str, str] = {}
        self.groups: dict[str, list[str]] = {}
        self.trouble: dict[str, str] = {}
        self.loop: asyncio.AbstractEventLoop | None = None
        self._close: Any = None

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hub/api"

    def user(self, name: str, *groups: str) -> str:
        token = f"token-{len(self.tokens)}"
        self.tokens[token] = name
        self.groups[name] = list(groups)
        return token

    def start(self) -> FakeHub:
        hub = self

        class Identify(web.RequestHandler):
            def get(self) -> None:
                token = self.request.headers.get("Authorization", "").removeprefix("token ")
                if hub.trouble.get(token) == "broken":
                    raise web.HTTPError(500)
                if token not in hub.tokens:
                    raise web.HTTPError(403)
                name = hub.tokens[token]
                scopes = ["access:services!service=courses"]
                self.finish({"kind": "user", "name": name, "scopes": scopes, "groups": []})

        class Groups(web.RequestHandler):
            async def get(self, name: str) -> None:
                assert self.request.headers["Authorization"] == f"token {SERVICE_TOKEN}"
                name = unquote(name)
                trouble = hub.trouble.get(name)
                if trouble == "slow":
                    await asyncio.sleep(30)
                elif trouble == "broken":
                    raise web.HTTPError(500)
                elif trouble == "gone":
                    self.request.connection.stream.close()
                    return
                elif trouble == "nonsense":
                    self.finish("<html>maintenance</html>")
                    return
                self.finish({"name": name, "groups": hub.groups.get(name, [])})

        ready = threading.Event()

        def run() -> None:
            self.loop = asyncio.new_event_loop()
            asyncio.set_event_loop(self.loop)
            app = web.Application([("/hub/api/user", Identify), ("/hub/api/users/(.+)", Groups)])
            server = app.listen(self.port, address="127.0.0.1")
            self._close = server.stop
            self.loop.call_soon(ready.set)
            self.loop.run_forever()

        threading.Thread(target=run, daemon=True).start()
        ready.wait(10)
        return self

    def stop(self) -> None:
        """Stop listening (callers then find the port refused), then the loop."""
        if self.loop is not None:
            self.loop.call_soon_threadsafe(self._close)
            self.loop.call_soon_threadsafe(self.loop.stop)


class Service:
    """The real service process, as JupyterHub would start it."""

    def __init__(self, tmp: Path, hub: FakeHub, site: str = SITE) -> None:
        self.data = tmp / "data"
        self.hub = hub
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/services/courses"
        self.log_path = tmp / "courses.log"
        # The folders instructors may publish: the test's own (courses.notebooks).
        (tmp / "site.yaml").write_text(site.replace("NOTEBOOKS", str(tmp / "notebooks")))
        self.env = {
            "PATH": os.environ.get("PATH", ""),
            "PYTHONPATH": str(REPO),
            "SANDBOX_DATA": str(self.data),
            "SANDBOX_SITE": str(tmp / "site.yaml"),
            "SANDBOX_COURSES_PORT": str(self.port),
            "JUPYTERHUB_API_URL": hub.api_url,
            "JUPYTERHUB_API_TOKEN": SERVICE_TOKEN,
            "JUPYTERHUB_SERVICE_NAME": "courses",
            "JUPYTERHUB_SERVICE_PREFIX": "/services/courses/",
            "JUPYTERHUB_CLIENT_ID": "service-courses",
        }
        self.proc: subprocess.Popen | None = None

    def start(self) -> Service:
        log = open(self.log_path, "ab")  # noqa: SIM115  (kept open for the child's lifetime)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "extensions.courses"],
            env=self.env,
            cwd=REPO,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        wait_for(self._answers, 60, "the courses service")
        return self

    def _answers(self) -> bool:
        if self.proc is not None and self.proc.poll() is not None:
            raise RuntimeError(f"the service exited:\n{self.log()}")
        try:
            return requests.get(f"{self.url}/api/me", timeout=2).status_code == 403
        except requests.RequestException:
            return False

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=30)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def call(self, token: str | None, method: str, path: str, **kw: Any) -> requests.Response:
        headers = kw.pop("headers", {})
        if token:
            headers["Authorization"] = f"token {token}"
        kw.setdefault("timeout", 60)
        return requests.request(method, self.url + path, headers=headers, **kw)

    def leftovers(self) -> list[Path]:
        """Temporary files and folders anywhere in the store."""
        return [p for p in self.data.rglob("*") if p.name.endswith(".tmp")]


@pytest.fixture(scope="module")
def hub() -> Iterator[FakeHub]:
    hub = FakeHub().start()
    yield hub
    hub.stop()


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory, hub: FakeHub) -> Iterator[Service]:
    service = Service(tmp_path_factory.mktemp("courses-service"), hub).start()
    yield service
    service.stop()
    assert "Traceback" not in service.log(), service.log()


@pytest.fixture(scope="module")
def people(hub: FakeHub, service: Service) -> dict[str, str]:
    tokens = {
        "prof": hub.user("prof", "ml101-instructors"),
        "stud": hub.user("stud", "ml101-students"),
        "stud2": hub.user("stud2", "ml101-students"),
        "김철수": hub.user("김철수", "ml101-students"),
    }
    r = service.call(
        tokens["prof"],
        "POST",
        "/api/courses/ml101/labs",
        json={"name": "lab1", "files": encode({"intro.ipynb": b"{}"})},
    )
    assert r.status_code == 201, r.text
    return tokens


def big_lab(service: Service, token: str, name: str, size: int) -> dict[str, bytes]:
    files = {"data.bin": os.urandom(size), "노트.ipynb": b"{}"}
    r = service.call(
        token, "POST", "/api/courses/ml101/labs", json={"name": name, "files": encode(files)}
    )
    assert r.status_code == 201, r.text
    return files


# --- pure helpers -------------------------------------------------------------------


def test_content_disposition_for_any_name() -> None:
    header = attachment("ml101-lab1-김철수-1.zip")
    assert header == (
        'attachment; filename="ml101-lab1-___-1.zip"; '
        "filename*=UTF-8''ml101-lab1-%EA%B9%80%EC%B2%A0%EC%88%98-1.zip"
    )
    header.encode("latin-1")  # what a response header must be
    assert ascii_fallback('a"b\\c%d\r\n') == "a_b_c_d__"


def test_one_claim_per_key() -> None:
    transfers = InFlight()
    assert transfers.claim(("download", "a"))
    assert not transfers.claim(("download", "a"))
    assert transfers.claim(("download", "b")) and transfers.claim(("upload", "a"))
    transfers.release(("download", "a"))
    assert transfers.claim(("download", "a"))


# --- sync: streamed, one at a time per user ------------------------------------------


def test_a_sync_is_streamed_and_a_second_one_waits_its_turn(
    service: Service, people: dict[str, str]
) -> None:
    files = big_lab(service, people["prof"], "big", 30 * 10**6)
    first = service.call(people["stud"], "GET", "/api/sync", stream=True)
    try:
        assert first.status_code == 200
        assert first.headers.get("Transfer-Encoding") == "chunked"
        # Not read yet: the service is held on a full connection, mid-lab.
        second = service.call(people["stud"], "GET", "/api/sync")
        assert second.status_code == 429
        assert second.headers["Retry-After"] == str(RETRY_AFTER)
        assert "already running" in second.json()["message"]
        # The lab download counts as one too; another user is not held up.
        lab = service.call(people["stud"], "GET", "/api/courses/ml101/labs/big")
        assert lab.status_code == 429
        assert service.call(people["stud2"], "GET", "/api/me").status_code == 200
        labs = {lab["name"]: lab for lab in json.loads(first.content)["labs"]}
    finally:
        first.close()
    assert base64.b64decode(labs["big"]["files"]["data.bin"]) == files["data.bin"]
    assert labs["big"]["files"]["노트.ipynb"] == "e30="
    assert service.call(people["stud"], "GET", "/api/sync").status_code == 200


def test_a_caller_who_goes_away_mid_sync_frees_their_turn(
    service: Service, people: dict[str, str]
) -> None:
    big_lab(service, people["prof"], "big", 30 * 10**6)
    first = service.call(people["stud2"], "GET", "/api/sync", stream=True)
    assert first.status_code == 200
    next(first.iter_content(1024))
    first.close()

    def free() -> bool:
        r = service.call(people["stud2"], "GET", "/api/courses/ml101/labs/lab1")
        return r.status_code == 200

    wait_for(free, 30, "the sync's turn to be given back")


def test_a_lab_file_gone_mid_answer_cuts_the_answer(
    service: Service, people: dict[str, str]
) -> None:
    big_lab(service, people["prof"], "fragile", 10**6)
    version = service.call(people["prof"], "GET", "/api/courses/ml101/labs").json()["labs"]
    (meta,) = [lab for lab in version if lab["name"] == "fragile"]
    folder = service.data / "courses" / "ml101" / "labs" / "fragile" / f"v{meta['version']}"
    (folder / "data.bin").unlink()
    with pytest.raises((requests.RequestException, ValueError)):  # cut short, never whole
        r = service.call(people["stud"], "GET", "/api/courses/ml101/labs/fragile")
        json.loads(r.content)
    assert service.call(people["stud"], "GET", "/api/courses/ml101/labs/lab1").status_code == 200


# --- uploads: limits before the body is kept, one at a time per user ----------------


def hand_in_path(lab: str = "lab1") -> str:
    return f"/api/courses/ml101/labs/{lab}/submissions"


def test_an_oversized_upload_is_a_413_before_it_is_read(
    service: Service, people: dict[str, str]
) -> None:
    body = json.dumps({"files": encode({"a.ipynb": b"x" * 3 * 10**6})}).encode()
    r = service.call(people["stud"], "POST", hand_in_path(), data=body)
    assert r.status_code == 413
    assert "courses.hand_ins.max_mb" in r.json()["message"]
    # Without a Content-Length (chunked), it is dropped as it arrives.
    r = service.call(people["stud"], "POST", hand_in_path(), data=iter([body[: 10**6]] * 3))
    assert r.status_code == 413 and "larger" in r.json()["message"]
    # Small enough as a request, too large as files: the quota's own 413.
    r = service.call(
        people["stud"], "POST", hand_in_path(), json={"files": encode({"a": b"x" * 1_100_000})}
    )
    assert r.status_code == 413 and "1.1 MB; at most 1 MB" in r.json()["message"]
    assert service.leftovers() == []
    assert service.call(people["stud"], "GET", "/api/me").status_code == 200


def test_a_second_upload_of_one_user_at_once_is_a_429(
    service: Service, people: dict[str, str]
) -> None:
    head = (
        f"POST /services/courses{hand_in_path()} HTTP/1.1\r\n"
        f"Host: 127.0.0.1\r\nAuthorization: token {people['stud2']}\r\n"
        "Content-Type: application/json\r\nContent-Length: 100000\r\n\r\n"
    )
    with socket.create_connection(("127.0.0.1", service.port)) as slow:
        slow.sendall(head.encode() + b'{"files": {"a": "')

        def refused() -> bool:
            r = service.call(people["stud2"], "POST", hand_in_path(), json={"files": {}})
            return r.status_code == 429

        wait_for(refused, 30, "the second upload to be refused")
        other = service.call(people["stud"], "POST", hand_in_path(), json={"files": {}})
        assert other.status_code == 400  # another user's upload runs

    # The first caller went away: their turn is free again (once the service noticed).
    def handed_in() -> bool:
        body = {"files": encode({"a.ipynb": b"1"})}
        r = service.call(people["stud2"], "POST", hand_in_path(), json=body)
        assert r.status_code in (201, 429), r.text
        return r.status_code == 201

    wait_for(handed_in, 30, "the upload's turn to be given back")


def test_a_bundle_with_a_file_and_a_folder_of_one_name(
    service: Service, people: dict[str, str]
) -> None:
    clash = {"files": encode({"a": b"1", "a/b": b"2"})}
    r = service.call(people["prof"], "POST", "/api/courses/ml101/labs", json={"name": "x"} | clash)
    assert r.status_code == 400 and "both a file and a folder" in r.json()["message"]
    r = service.call(people["stud"], "POST", hand_in_path(), json=clash)
    assert r.status_code == 400 and "both a file and a folder" in r.json()["message"]
    assert not (service.data / "courses" / "ml101" / "labs" / "x").exists()
    assert service.leftovers() == []


# --- the hub slow, broken or gone ---------------------------------------------------


@pytest.mark.parametrize(
    ("trouble", "status", "words", "code"),
    [
        ("slow", 503, "did not answer", "hub-unreachable"),
        ("gone", 503, "did not answer", "hub-unreachable"),
        ("broken", 502, "answered 500", "hub-bad-answer"),
        ("nonsense", 502, "made no sense", "hub-bad-answer"),
    ],
)
def test_the_hub_failing_to_say_a_users_groups(
    service: Service, hub: FakeHub, trouble: str, status: int, words: str, code: str
) -> None:
    name = f"unlucky-{trouble}"
    token = hub.user(name, "ml101-students")
    hub.trouble[name] = trouble
    for path in ("/api/sync", "/api/me", "/api/courses/ml101/labs", "/"):
        started = time.monotonic()
        r = service.call(token, "GET", path)
        assert r.status_code == status, (path, r.text)
        assert words in r.json()["message"] and r.json()["status"] == status
        assert r.json()["code"] == r.headers["X-Sandbox-Code"] == code
        assert time.monotonic() - started < 20  # hub_timeout is 1 s here
    # Not held: the same user may try again at once.
    assert service.call(token, "GET", "/api/sync").status_code == status


def test_the_hub_failing_to_say_who_a_token_is(service: Service, hub: FakeHub) -> None:
    hub.trouble["unknown-token"] = "broken"
    r = service.call("unknown-token", "GET", "/api/sync")
    assert r.status_code == 503 and "check who you are" in r.json()["message"]
    assert r.json()["code"] == "hub-unreachable"


def test_the_hub_not_there_at_all(tmp_path: Path) -> None:
    hub = FakeHub().start()
    token = hub.user("stud", "ml101-students")
    service = Service(tmp_path, hub).start()
    try:
        assert service.call(token, "GET", "/api/sync").status_code == 200  # token now known
        hub.stop()
        wait_for(lambda: _refused(hub.port), 10, "the stand-in hub to stop")
        r = service.call(token, "GET", "/api/sync")
        assert r.status_code == 503 and "Could not reach the hub" in r.json()["message"]
    finally:
        service.stop()
    assert "AttributeError" not in service.log() and "Traceback" not in service.log()


def _refused(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except OSError:
        return True
    return False


# --- names in any script ------------------------------------------------------------


def test_a_student_named_in_hangul_hands_in_and_is_downloaded(
    service: Service, people: dict[str, str]
) -> None:
    files = {"답안.ipynb": '{"정답": 42}'.encode()}
    r = service.call(people["김철수"], "POST", hand_in_path(), json={"files": encode(files)})
    assert r.status_code == 201, r.text
    record = r.json()
    assert record["student"] == "김철수" and record["files"] == ["답안.ipynb"]
    mine = service.call(people["김철수"], "GET", "/api/courses/ml101/labs/lab1/my-submissions")
    assert [s["id"] for s in mine.json()["submissions"]] == [record["id"]]
    me = service.call(people["김철수"], "GET", "/api/me").json()
    assert me["user"] == "김철수"
    page = service.call(people["김철수"], "GET", "/")
    assert page.status_code == 200 and "김철수" in page.text

    listed = service.call(people["prof"], "GET", hand_in_path()).json()["submissions"]
    assert "김철수" in {s["student"] for s in listed}
    url = f"{hand_in_path()}/{quote('김철수')}/{record['id']}.zip"
    r = service.call(people["prof"], "GET", url)
    assert r.status_code == 200, r.text
    disposition = r.raw.headers["Content-Disposition"]
    name = f"ml101-lab1-김철수-{record['id']}.zip"
    assert f"filename*=UTF-8''{quote(name, safe='')}" in disposition
    assert f'filename="ml101-lab1-___-{record["id"]}.zip"' in disposition
    with zipfile.ZipFile(io.BytesIO(r.content)) as z:
        by_name = {n.rsplit("/", 1)[-1]: n for n in z.namelist()}
        assert sorted(by_name) == ["submission.json", "답안.ipynb"]
        assert z.read(by_name["답안.ipynb"]) == files["답안.ipynb"]
        assert json.loads(z.read(by_name["submission.json"]))["student"] == "김철수"


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/api/courses/%EA%B0%95%EC%9D%98/labs", 403),  # a course named 강의
        ("/api/courses/ml101/labs/%EC%8B%A4%ED%97%98", 400),  # a lab named 실험
        ("/api/courses/ml101/labs/%EC%8B%A4%ED%97%98/my-submissions", 400),
        ("/api/courses/%FF%FE/labs", 400),  # not UTF-8 at all
        (f"{hand_in_path()}/%EA%B9%80/20240101T000000.000000Z.zip", 403),  # students may not
    ],
)
def test_non_ascii_in_a_path_is_a_clean_refusal(
    service: Service, people: dict[str, str], path: str, status: int
) -> None:
    r = service.call(people["stud"], "GET", path)
    assert r.status_code == status, r.text
    assert r.json()["status"] == status and r.json()["message"]


def test_non_ascii_titles_and_file_names_in_a_lab(service: Service, people: dict[str, str]) -> None:
    body = {"name": "lab-ko", "title": "첫 실습", "files": encode({"폴더/노트북.ipynb": b"{}"})}
    r = service.call(people["prof"], "POST", "/api/courses/ml101/labs", json=body)
    assert r.status_code == 201, r.text
    lab = service.call(people["stud"], "GET", "/api/courses/ml101/labs/lab-ko").json()
    assert lab["title"] == "첫 실습" and lab["files"] == {"폴더/노트북.ipynb": "e30="}


# --- the user's server as the service's client --------------------------------------


def test_the_servers_client_turns_no_answer_into_a_503() -> None:
    """tornado says 599 for a connection that ends without an answer; a user's server
    must not pass that on as an HTTP status."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()

        def hang_up() -> None:
            conn, _ = listener.accept()
            conn.recv(65536)
            conn.close()

        threading.Thread(target=hang_up, daemon=True).start()
        client = CoursesClient(f"http://127.0.0.1:{listener.getsockname()[1]}/", "token")
        with pytest.raises(CoursesUnavailable) as e:
            asyncio.run(client.request("GET", "api/me"))
    assert e.value.status == 503
