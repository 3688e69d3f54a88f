"""Slice spawners driven in-process, for the engine with no cluster here (Kubernetes).

A spawner needs a user, the hub's URLs and the slice machinery; these are the smallest
real versions of each: a ledger on SQLite in a temp folder, a simulated inventory, and
a kubeconfig that points at a port nobody listens on (the "unreachable cluster" double:
every API call fails at once with a connection refusal)."""

from __future__ import annotations

import socket
from pathlib import Path
from types import SimpleNamespace

from hub_config.site import load_site
from spawners.context import SliceContext, site_wide_choices
from spawners.core.images import image_table
from spawners.inventory.simulated import simulated_inventory
from spawners.ledger.ledger import Ledger
from spawners.ledger.records import AllocationRecord


def slice_context(tmp: Path, gpus: int = 1) -> SliceContext:
    inventory = simulated_inventory(gpus)
    ledger = Ledger(f"sqlite:///{tmp / 'ledger.sqlite'}")
    ledger.create_schema()
    images = image_table(load_site(env={})["images"])
    return SliceContext(
        inventory=inventory,
        ledger=ledger,
        choices_for=site_wide_choices(inventory, tuple(images)),
        images=images,
    )


def user(name: str) -> SimpleNamespace:
    return SimpleNamespace(name=name, id=1, url=f"/user/{name}/", groups=[])


def hub() -> SimpleNamespace:
    return SimpleNamespace(
        public_host="hub.example",
        url="http://127.0.0.1:8081/hub/",
        base_url="/hub/",
        api_url="http://127.0.0.1:8081/hub/api",
    )


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def unreachable_kubeconfig(tmp: Path, monkeypatch) -> str:  # noqa: ANN001
    """Point the Kubernetes client at a cluster that refuses connections."""
    import kubernetes_asyncio.config.kube_config as kube_config
    from kubespawner.clients import load_config

    server = f"http://127.0.0.1:{closed_port()}"
    path = tmp / "kubeconfig"
    path.write_text(
        "apiVersion: v1\nkind: Config\n"
        f"clusters: [{{name: dead, cluster: {{server: '{server}'}}}}]\n"
        "contexts: [{name: dead, context: {cluster: dead, user: u}}]\n"
        "current-context: dead\nusers: [{name: u, user: {token: not-a-token}}]\n"
    )
    monkeypatch.setattr(kube_config, "KUBE_CONFIG_DEFAULT_LOCATION", str(path))
    load_config.cache_clear()
    return server


def record(
    *,
    id: int,
    user: str,
    slice_name: str,
    image: str,
    team: str | None = None,
    device_uuid: str | None = None,
) -> AllocationRecord:
    """An allocation as the ledger would hand it to a backend."""
    return AllocationRecord(
        id=id, user=user, server_name="", team=team, image=image, slice_name=slice_name,
        weight=0.0, gpu_uuid=None, gpu_index=None, node=None, start=None,
        slots=frozenset(), device_uuid=device_uuid, simulated=False, state="reserved",
        epoch="test", engine="kubernetes", engine_ref=None, created_at=0.0,
        activated_at=None, released_at=None, release_reason=None,
    )  # fmt: skip
