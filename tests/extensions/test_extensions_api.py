"""Every new endpoint's permissions, against one real hub: the server extension (slice,
course actions), the capacity page and its API, and the courses service."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Iterator

import pytest
import requests

from tests.extensions.support import running_hub
from tests.support.hub import Hub

pytestmark = pytest.mark.integration

NOTEBOOK = {"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    tmp = tmp_path_factory.mktemp("ext-api")
    lab = tmp / "notebooks" / "course" / "lab1"
    lab.mkdir(parents=True)
    (lab / "intro.ipynb").write_text(json.dumps(NOTEBOOK))
    with running_hub(tmp, notebooks=tmp / "notebooks") as hub:
        for user in ("alice", "bob", "prof", "stud", "stud2", "outsider"):
            hub.ensure_user(user)
        assert hub.post("/groups/ml101-students", json={"users": ["stud", "stud2"]}).ok
        assert hub.post("/groups/ml101-instructors", json={"users": ["prof"]}).ok
        for user, options in (("alice", {"slice": "1g.10gb"}), ("bob", {"slice": "cpu"})):
            assert hub.spawn(user, options).status_code in (201, 202)
        for user in ("alice", "bob"):
            hub.wait_ready(user)
        yield hub


@pytest.fixture(scope="module")
def tokens(hub: Hub) -> dict[str, str]:
    users = ("alice", "bob", "prof", "stud", "stud2", "outsider", "admin")
    return {u: hub.user_token(u) for u in users}


def call(hub: Hub, token: str | None, method: str, path: str, **kw) -> requests.Response:
    headers = {"Authorization": f"token {token}"} if token else {}
    return requests.request(
        method, hub.url + path, headers=headers, timeout=60, allow_redirects=False, **kw
    )


COURSES = "/services/courses/api"


# --- the server extension ---------------------------------------------------------


def test_a_user_reads_only_their_own_slice(hub: Hub, tokens: dict[str, str]) -> None:
    own = call(hub, tokens["alice"], "GET", "/user/alice/api/sandbox/slice")
    assert own.status_code == 200
    assert own.json()["profile"] == "1g.10gb" and own.json()["simulated"] is True
    # The server read the hub's live view of its user with its own token.
    assert own.json()["hub_view"] is True
    assert call(hub, tokens["bob"], "GET", "/user/alice/api/sandbox/slice").status_code == 403
    assert call(hub, None, "GET", "/user/alice/api/sandbox/slice").status_code in (302, 403)
    # Nor act on another's home through their server.
    pull = call(hub, tokens["bob"], "POST", "/user/alice/api/sandbox/courses/pull", json={})
    assert pull.status_code == 403


def test_course_actions_of_a_user_in_no_course(hub: Hub, tokens: dict[str, str]) -> None:
    r = call(hub, tokens["alice"], "GET", "/user/alice/api/sandbox/courses")
    assert r.status_code == 200 and r.json()["courses"] == []
    # A refusal of the server extension carries its code, as the hub's own REST API does.
    for body, message in (
        (b"{", "The body must be JSON."),
        (b"[]", "The body must be a JSON object."),
    ):
        r = call(hub, tokens["alice"], "POST", "/user/alice/api/sandbox/courses/pull", data=body)
        assert r.status_code == 400 and r.json()["message"] == message, r.text
        assert r.json()["code"] == r.headers["X-Sandbox-Code"] == "bad-request-body"
    r = call(
        hub,
        tokens["alice"],
        "POST",
        "/user/alice/api/sandbox/courses/publish",
        json={"course": "ml101", "name": "x", "folder": "."},
    )
    assert r.status_code == 400  # the home itself is not a lab folder
    hub.write_home_file("alice", "mine/a.ipynb", "{}")
    r = call(
        hub,
        tokens["alice"],
        "POST",
        "/user/alice/api/sandbox/courses/publish",
        json={"course": "ml101", "name": "x", "folder": "mine"},
    )
    assert r.status_code == 403 and "not a member" in r.json()["message"]
    r = call(
        hub,
        tokens["alice"],
        "POST",
        "/user/alice/api/sandbox/courses/publish",
        json={"course": "ml101", "name": "x", "folder": "../../"},
    )
    assert r.status_code == 400


# --- the capacity page --------------------------------------------------------------


def test_capacity_page_and_api_are_for_admins_only(hub: Hub, tokens: dict[str, str]) -> None:
    for user in ("alice", "prof"):
        assert call(hub, tokens[user], "GET", "/services/slices/").status_code == 403
        assert call(hub, tokens[user], "GET", "/services/slices/api/overview").status_code == 403
        stop = call(
            hub, tokens[user], "POST", "/services/slices/api/servers/stop", json={"user": "bob"}
        )
        assert stop.status_code == 403
    assert hub.server("bob") is not None
    page = call(hub, tokens["admin"], "GET", "/services/slices/")
    assert page.status_code == 200 and "GPU capacity" in page.text
    overview = call(hub, tokens["admin"], "GET", "/services/slices/api/overview").json()
    holders = {s["holder"]["user"] for s in overview["gpus"][0]["slots"] if s["holder"]}
    assert holders == {"alice"}
    assert [a["user"] for a in overview["without_gpu"]] == ["bob"]
    # Anonymous: the page sends them to log in; the API says no.
    assert call(hub, None, "GET", "/services/slices/").status_code == 302
    assert call(hub, None, "GET", "/services/slices/api/overview").status_code == 403


# --- the courses service ------------------------------------------------------------


def test_only_instructors_publish_and_read_hand_ins(hub: Hub, tokens: dict[str, str]) -> None:
    body = {"name": "lab1", "repo_path": "course/lab1", "due": "2000-01-01T00:00:00Z"}
    for user in ("stud", "outsider", "admin", "alice"):
        r = call(hub, tokens[user], "POST", f"{COURSES}/courses/ml101/labs", json=body)
        assert r.status_code == 403, (user, r.text)
        assert call(hub, tokens[user], "GET", f"{COURSES}/repo-labs").status_code == 403
    r = call(hub, tokens["prof"], "POST", f"{COURSES}/courses/ml101/labs", json=body)
    assert r.status_code == 201, r.text
    assert r.json()["version"] >= 1

    subs = f"{COURSES}/courses/ml101/labs/lab1/submissions"
    for user in ("stud", "stud2", "outsider", "admin"):
        assert call(hub, tokens[user], "GET", subs).status_code == 403
    assert call(hub, tokens["prof"], "GET", subs).status_code == 200
    # Members see the lab; others do not.
    assert call(hub, tokens["stud"], "GET", f"{COURSES}/courses/ml101/labs").status_code == 200
    assert call(hub, tokens["outsider"], "GET", f"{COURSES}/courses/ml101/labs").status_code == 403
    r = call(hub, tokens["outsider"], "GET", f"{COURSES}/courses/ml101/labs/lab1")
    assert r.status_code == 403
    assert call(hub, tokens["outsider"], "GET", f"{COURSES}/sync").json() == {"labs": []}
    assert call(hub, None, "GET", f"{COURSES}/me").status_code == 403
    assert call(hub, None, "GET", "/services/courses/").status_code == 302


def test_lab_reaches_a_student_at_spawn_and_hand_ins_stay_private(
    hub: Hub, tokens: dict[str, str]
) -> None:
    body = {"name": "lab1", "repo_path": "course/lab1", "due": "2000-01-01T00:00:00Z"}
    assert call(hub, tokens["prof"], "POST", f"{COURSES}/courses/ml101/labs", json=body).ok
    for user in ("stud", "stud2", "prof"):
        assert hub.spawn(user, {"slice": "cpu"}).status_code in (201, 202)
    for user in ("stud", "stud2", "prof"):
        hub.wait_ready(user)
    home = hub.home("stud")
    # Pulled at server start, before the server answered.
    assert json.loads((home / "ml101" / "lab1" / "intro.ipynb").read_text()) == NOTEBOOK

    hub.write_home_file("stud", "ml101/lab1/intro.ipynb", '{"my": "answer"}')
    handin = "/user/stud/api/sandbox/courses/handin"
    r = call(hub, tokens["stud"], "POST", handin, json={"course": "ml101", "lab": "lab1"})
    assert r.status_code == 201, r.text
    record = r.json()
    assert record["late"] is True and record["student"] == "stud"

    # An instructor cannot hand in; a student cannot hand in for another student.
    r = call(hub, tokens["prof"], "POST", "/user/prof/api/sandbox/courses/handin",
             json={"course": "ml101", "lab": "lab1"})  # fmt: skip
    assert r.status_code == 403
    assert call(hub, tokens["stud2"], "POST", handin, json={}).status_code == 403

    mine = call(hub, tokens["stud2"], "GET", f"{COURSES}/courses/ml101/labs/lab1/my-submissions")
    assert mine.json()["submissions"] == []
    zip_path = f"{COURSES}/courses/ml101/labs/lab1/submissions/stud/{record['id']}.zip"
    assert call(hub, tokens["stud"], "GET", zip_path).status_code == 403
    assert call(hub, tokens["stud2"], "GET", zip_path).status_code == 403
    r = call(hub, tokens["prof"], "GET", zip_path)
    assert r.status_code == 200
    with zipfile.ZipFile(io.BytesIO(r.content)) as z:
        assert z.read(f"stud/{record['id']}/intro.ipynb") == b'{"my": "answer"}'


def test_publish_from_an_instructors_server_and_pull_keeps_edits(
    hub: Hub, tokens: dict[str, str]
) -> None:
    stud_home = hub.home("stud")
    hub.wait_ready("prof")
    for name in ("a", "b"):  # written as prof's server would write them
        hub.write_home_file("prof", f"drafts/lab2/{name}.ipynb", f"v1 {name}")
    publish = "/user/prof/api/sandbox/courses/publish"
    form = {"course": "ml101", "name": "lab2", "folder": "drafts/lab2", "due": "2999-01-01"}
    r = call(hub, tokens["prof"], "POST", publish, json=form)
    assert r.status_code == 201, r.text
    assert r.json()["source"] == "server:drafts/lab2"
    # A student's server cannot publish, whatever folder it names.
    stud_form = dict(form, folder="ml101/lab1")
    r = call(hub, tokens["stud"], "POST", "/user/stud/api/sandbox/courses/publish", json=stud_form)
    assert r.status_code == 403

    pull = "/user/stud/api/sandbox/courses/pull"
    r = call(hub, tokens["stud"], "POST", pull, json={"course": "ml101", "lab": "lab2"})
    assert r.status_code == 200, r.text
    assert sorted(r.json()["results"][0]["written"]) == ["a.ipynb", "b.ipynb"]
    hub.write_home_file("stud", "ml101/lab2/a.ipynb", "my edit")

    for name in ("a", "b", "c"):
        hub.write_home_file("prof", f"drafts/lab2/{name}.ipynb", f"v2 {name}")
    assert call(hub, tokens["prof"], "POST", publish, json=form).json()["version"] == 2
    r = call(hub, tokens["stud"], "POST", pull, json={})
    lab2 = next(x for x in r.json()["results"] if x["lab"] == "lab2")
    assert lab2["kept"] == ["a.ipynb"] and sorted(lab2["written"]) == ["b.ipynb", "c.ipynb"]
    assert (stud_home / "ml101" / "lab2" / "a.ipynb").read_text() == "my edit"
    assert (stud_home / "ml101" / "lab2" / "b.ipynb").read_text() == "v2 b"

    r = call(hub, tokens["stud"], "POST", "/user/stud/api/sandbox/courses/handin",
             json={"course": "ml101", "lab": "lab2"})  # fmt: skip
    assert r.status_code == 201 and r.json()["late"] is False
    listing = call(hub, tokens["stud"], "GET", "/user/stud/api/sandbox/courses").json()
    lab = next(x for x in listing["courses"][0]["labs"] if x["name"] == "lab2")
    assert lab["local"]["edited"] == ["a.ipynb"] and lab["my_submissions"]
