"""The gres a Slurm job asks for follows the model of the GPU its slice is on.

A site mixing an H100 80GB node, an H200 node and an A100 40GB node, configured by the
function production uses; slices reserved through the ledger; the batch job's --gres is
the type Slurm's AutoDetect=nvml (and the slurm role) gives that device on that model."""

from __future__ import annotations

from pathlib import Path

import pytest
from traitlets.config import Config

from hub_config.site import load_site
from hub_config.wiring import configure
from tests.backends import inprocess

SITE = """
site: {name: Mixed Slurm}
hub:
  internal_url: http://10.0.0.10
  backend:
    kind: slurm
    slurm: {submit_as_user: false}
gpus:
  source: declared
  nodes:
    - name: h100-node
      gpus:
        - {index: 0, mode: mig, layout: [{profile: 1g.10gb, start: 0}]}
        - {index: 1, mode: whole}
    - name: h200-node
      gpus:
        - {index: 0, mode: mig, model: h200-141gb, layout: [{profile: 1g.18gb, start: 0}]}
        - {index: 1, mode: whole, model: NVIDIA H200 NVL}
    - name: a100-node
      gpus:
        - {index: 0, mode: mig, model: NVIDIA A100-SXM4-40GB, layout: [{profile: 1g.5gb, start: 0}]}
"""


@pytest.fixture
def spawner_for(tmp_path: Path):  # noqa: ANN201
    site_path = tmp_path / "site.yaml"
    site_path.write_text(SITE)
    c = Config()
    ctx = configure(c, load_site(site_path, env={}), env={"SANDBOX_DATA": str(tmp_path / "data")})
    ctx.ledger.create_schema()  # what the hub's start-up does before any spawn

    def make(user: str, slice_name: str, node: str):  # noqa: ANN202
        spawner = c.JupyterHub.spawner_class(
            config=c, user=inprocess.user("root"), hub=inprocess.hub()
        )
        spawner.allocation = ctx.ledger.reserve(
            user=user, server_name="", image="base", slice_name=slice_name,
            inventory=ctx.inventory, epoch=ctx.epoch, engine="slurm",
        )  # fmt: skip
        assert spawner.allocation.node == node
        return spawner

    return make


@pytest.mark.parametrize(
    ("slice_name", "node", "gres"),
    [
        ("1g.10gb", "h100-node", "gpu:nvidia_h100_80gb_hbm3_1g.10gb:1"),
        ("1g.18gb", "h200-node", "gpu:nvidia_h200_1g.18gb:1"),
        ("1g.5gb", "a100-node", "gpu:nvidia_a100_1g.5gb:1"),
    ],
)
def test_mig_gres_follows_the_gpus_model(spawner_for, slice_name, node, gres) -> None:  # noqa: ANN001
    spawner = spawner_for("ana", slice_name, node)
    assert spawner.build_job(spawner.allocation).gres == gres


def test_whole_gpu_gres_follows_the_gpu_it_is_on(spawner_for) -> None:  # noqa: ANN001
    first = spawner_for("ana", "gpu", "h100-node")
    assert first.build_job(first.allocation).gres == "gpu:nvidia_h100_80gb_hbm3:1"
    second = spawner_for("bo", "gpu", "h200-node")
    assert second.build_job(second.allocation).gres == "gpu:nvidia_h200_nvl:1"
