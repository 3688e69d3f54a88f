"""Kubernetes (no cluster runs here: the pod KubeSpawner would create, as data): a
tenant's pod never runs as root and cannot gain privileges, whatever its image says."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from tests.backends import inprocess, kube_pods


@pytest.mark.parametrize("slice_name", ["cpu", "1g.10gb"])
def test_a_tenant_pod_runs_as_uid_1000_without_privilege_escalation(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, slice_name: str
) -> None:
    inprocess.unreachable_kubeconfig(tmp_path, monkeypatch)  # a client config, no cluster

    async def build() -> dict:
        c = kube_pods.configured(tmp_path, {})
        spawner = kube_pods.spawner(c, "x")
        record = inprocess.record(id=3, user="x", slice_name=slice_name, image="base")
        return await kube_pods.rendered_pod(spawner, record)

    pod = asyncio.run(build())
    security = pod["spec"]["securityContext"]
    assert security["fsGroup"] == 100
    [container] = pod["spec"]["containers"]
    assert container["securityContext"]["runAsUser"] == 1000
    assert container["securityContext"]["runAsGroup"] == 100
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
