"""A Kubernetes API server double that replays recorded API objects to a real KubeSpawner.

No cluster runs here. This serves what KubeSpawner (through kubernetes_asyncio) asks an
API server for, with the API's own semantics where KubeSpawner depends on them:

- list and watch of pods and events, namespaced or across all namespaces, with equality
  label and field selectors, a cluster-wide ``resourceVersion`` and watches that stream
  ``{"type": ..., "object": ...}`` lines until ``timeoutSeconds``;
- create, read and delete of pods, create of namespaces (409 when it exists);
- nodes, as recorded (fixtures/kube/api/nodes-mig-mixed.json).

A created pod gets the recorded status of an unschedulable pod, and the scheduler's
recorded FailedScheduling event for it appears a moment later, addressed to that pod
(its name, namespace and uid), as kube-scheduler would write it. Every request is kept in
``requests`` so tests can read what KubeSpawner sent."""

from __future__ import annotations

import asyncio
import contextlib
import copy
import json
import re
import socket
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

from tornado import httpserver, web
from tornado.iostream import StreamClosedError

API = Path(__file__).parent / "fixtures" / "kube" / "api"


def recorded(name: str) -> Any:
    return json.loads((API / name).read_text())


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    body: Any


class Store:
    """Objects by kind, with the journal that watches read from."""

    def __init__(self) -> None:
        self.version = 1000
        self.objects: dict[str, dict[tuple[str, str], dict]] = {"pods": {}, "events": {}}
        self.journal: list[tuple[int, str, str, dict]] = []
        self._changed = asyncio.Event()

    def put(self, kind: str, obj: dict, change: str) -> dict:
        self.version += 1
        meta = obj.setdefault("metadata", {})
        meta["resourceVersion"] = str(self.version)
        key = (meta.get("namespace", ""), meta["name"])
        if change == "DELETED":
            self.objects[kind].pop(key, None)
        else:
            self.objects[kind][key] = obj
        self.journal.append((self.version, kind, change, copy.deepcopy(obj)))
        self._changed.set()
        self._changed = asyncio.Event()
        return obj

    async def changed(self, timeout: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(self._changed.wait()), timeout)


def _selected(obj: dict, labels: str | None, fields: str | None) -> bool:
    for term in filter(None, (labels or "").split(",")):
        key, _, value = term.partition("=")
        if (obj.get("metadata", {}).get("labels") or {}).get(key) != value:
            return False
    for term in filter(None, (fields or "").split(",")):
        path, _, value = term.partition("=")
        node: Any = obj
        for part in path.split("."):
            node = node.get(part) if isinstance(node, dict) else None
        if node != value:
            return False
    return True


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


_PATH = re.compile(
    r"^/api/v1(?:/namespaces/(?P<ns>[^/]+))?/(?P<kind>pods|events|namespaces|nodes)"
    r"(?:/(?P<name>[^/]+))?/?$"
)


class _Handler(web.RequestHandler):
    def initialize(self, api: FakeKubeApi) -> None:
        self.api = api

    def _route(self) -> tuple[str | None, str, str | None, dict[str, str]]:
        url = urlparse(self.request.uri)
        m = _PATH.match(url.path)
        if not m:
            raise web.HTTPError(404)
        query = {k: v[-1] for k, v in parse_qs(url.query).items()}
        body = json.loads(self.request.body) if self.request.body else None
        self.api.requests.append(Request(self.request.method, url.path, query, body))
        return m["ns"], m["kind"], m["name"], query

    def _json(self, status: int, obj: Any) -> None:
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(obj))

    async def get(self, *_: str) -> None:
        ns, kind, name, query = self._route()
        if kind == "nodes":
            self._json(200, recorded("nodes-mig-mixed.json") | {"kind": "NodeList"})
            return
        if kind == "namespaces":
            raise web.HTTPError(404)
        store = self.api.store
        if name is not None:
            obj = store.objects[kind].get((ns or "", name))
            if obj is None:
                self._json(404, _status(404, f'{kind} "{name}" not found', "NotFound"))
                return
            self._json(200, obj)
            return
        labels, fields = query.get("labelSelector"), query.get("fieldSelector")

        def wanted(obj: dict) -> bool:
            in_ns = ns is None or obj["metadata"].get("namespace") == ns
            return in_ns and _selected(obj, labels, fields)

        if (query.get("watch") or "").lower() not in ("true", "1"):
            items = [o for o in store.objects[kind].values() if wanted(o)]
            self._json(
                200,
                {
                    "apiVersion": "v1",
                    "kind": "PodList" if kind == "pods" else "EventList",
                    "metadata": {"resourceVersion": str(store.version)},
                    "items": items,
                },
            )
            return
        since = int(query.get("resourceVersion") or 0)
        loop = asyncio.get_running_loop()
        until = loop.time() + float(query.get("timeoutSeconds") or 5)
        self.set_header("Content-Type", "application/json")
        try:
            while not self.api.closing and (left := until - loop.time()) > 0:
                for version, k, change, obj in list(store.journal):
                    if version > since and k == kind and wanted(obj):
                        self.write(json.dumps({"type": change, "object": obj}) + "\n")
                        since = version
                await self.flush()
                await store.changed(min(left, 0.2))
            self.finish()
        except StreamClosedError:
            pass  # the watcher went away (a reflector stopped or restarted)

    async def post(self, *_: str) -> None:
        ns, kind, name, _query = self._route()
        body = json.loads(self.request.body)
        if kind == "namespaces":
            ns_name = body["metadata"]["name"]
            if ns_name in self.api.namespaces:
                self._json(
                    409, _status(409, f'namespaces "{ns_name}" already exists', "AlreadyExists")
                )
                return
            self.api.namespaces.add(ns_name)
            self._json(201, body | {"status": {"phase": "Active"}})
            return
        if kind != "pods" or ns is None or name is not None:
            raise web.HTTPError(405)
        pod_name = body["metadata"]["name"]
        if (ns, pod_name) in self.api.store.objects["pods"]:
            self._json(409, _status(409, f'pods "{pod_name}" already exists', "AlreadyExists"))
            return
        pod = copy.deepcopy(body)
        pod["metadata"].update(namespace=ns, uid=str(uuid.uuid4()), creationTimestamp=_now())
        pod["status"] = recorded("pod-status-unschedulable.json")
        self.api.store.put("pods", pod, "ADDED")
        self.api.schedule(pod)
        self._json(201, pod)

    async def delete(self, *_: str) -> None:
        ns, kind, name, _query = self._route()
        obj = self.api.store.objects.get(kind, {}).get((ns or "", name or ""))
        if obj is None:
            self._json(404, _status(404, f'{kind} "{name}" not found', "NotFound"))
            return
        self.api.store.put(kind, copy.deepcopy(obj), "DELETED")
        self._json(200, obj)


def _status(code: int, message: str, reason: str) -> dict:
    return {
        "apiVersion": "v1",
        "kind": "Status",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    }


class FakeKubeApi:
    """Start it inside the test's event loop; ``url`` is the API server's address."""

    def __init__(self, scheduling_delay: float = 0.3) -> None:
        self.store = Store()
        self.requests: list[Request] = []
        self.namespaces: set[str] = {"default", "sandbox"}
        self.scheduling_delay = scheduling_delay
        self.closing = False
        self._server: httpserver.HTTPServer | None = None
        self._tasks: set[asyncio.Task] = set()
        self.url = ""

    async def start(self) -> FakeKubeApi:
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        sock.listen(64)
        sock.setblocking(False)
        app = web.Application([(r"/.*", _Handler, {"api": self})])
        self._server = httpserver.HTTPServer(app)
        self._server.add_sockets([sock])
        self.url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        return self

    async def stop(self) -> None:
        self.closing = True
        for task in self._tasks:
            task.cancel()
        if self._server is not None:
            self._server.stop()
            await self._server.close_all_connections()

    def schedule(self, pod: dict) -> None:
        """kube-scheduler finds no node for the pod: the recorded FailedScheduling event."""

        async def fail() -> None:
            await asyncio.sleep(self.scheduling_delay)
            event = recorded("event-failed-scheduling.json")
            meta = pod["metadata"]
            event["metadata"].update(
                name=f"{meta['name']}.{uuid.uuid4().hex[:16]}",
                namespace=meta["namespace"],
                uid=str(uuid.uuid4()),
                creationTimestamp=_now(),
            )
            event["involvedObject"].update(
                name=meta["name"],
                namespace=meta["namespace"],
                uid=meta["uid"],
                resourceVersion=meta["resourceVersion"],
            )
            event["eventTime"] = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
            self.store.put("events", event, "ADDED")

        task = asyncio.get_running_loop().create_task(fail())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def created_pods(self) -> list[dict]:
        return [r.body for r in self.requests if r.method == "POST" and r.path.endswith("/pods")]

    def created_namespaces(self) -> list[str]:
        return [
            r.body["metadata"]["name"]
            for r in self.requests
            if r.method == "POST" and r.path == "/api/v1/namespaces"
        ]


def use_api_server(url: str, tmp: Path, monkeypatch: Any) -> None:
    """Point KubeSpawner's client (kubeconfig, cached configuration) at ``url``."""
    import kubernetes_asyncio.config.kube_config as kube_config
    from kubespawner.clients import load_config

    path = tmp / "kubeconfig"
    path.write_text(
        "apiVersion: v1\nkind: Config\n"
        f"clusters: [{{name: replay, cluster: {{server: '{url}'}}}}]\n"
        "contexts: [{name: replay, context: {cluster: replay, user: u}}]\n"
        "current-context: replay\nusers: [{name: u, user: {token: replay-token}}]\n"
    )
    monkeypatch.setattr(kube_config, "KUBE_CONFIG_DEFAULT_LOCATION", str(path))
    load_config.cache_clear()
