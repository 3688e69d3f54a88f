"""A Slurm server that runs from a Python environment on the nodes (a prefix runner) is
told where the current tutorials are, as every other server is; one in an image is not
(the image carries its own). Configured by the function production uses."""

from __future__ import annotations

from pathlib import Path

import pytest
from traitlets.config import Config

from hub_config.site import load_site
from hub_config.wiring import configure
from spawners.core.server_env import ServerEnv
from tests.backends import inprocess

REPO = Path(__file__).resolve().parents[2]


def _site(tutorials: str | None) -> str:
    setting = f"\n      tutorials: {tutorials}" if tutorials else ""
    return f"""
site: {{name: Slurm tutorials}}
hub:
  internal_url: http://10.0.0.10
  backend:
    kind: slurm
    slurm:
      submit_as_user: false
      images: {{vision: {{apptainer: /shared/images/vision.sif}}}}{setting}
gpus: {{source: simulated, simulated_count: 1}}
"""


def _env_of(tmp_path: Path, site_text: str, image: str) -> dict[str, str]:
    site_path = tmp_path / "site.yaml"
    site_path.write_text(site_text)
    c = Config()
    ctx = configure(c, load_site(site_path, env={}), env={"SANDBOX_DATA": str(tmp_path / "data")})
    ctx.ledger.create_schema()
    spawner = c.JupyterHub.spawner_class(config=c, user=inprocess.user("root"), hub=inprocess.hub())
    record = ctx.ledger.reserve(
        user="ana", server_name="", image=image, slice_name="cpu",
        inventory=ctx.inventory, epoch=ctx.epoch, engine="slurm",
    )  # fmt: skip
    return spawner.slice_env(record)


@pytest.mark.parametrize(
    ("tutorials", "expected"),
    [("/shared/tutorials", "/shared/tutorials"), (None, str(REPO / "notebooks"))],
)
def test_a_prefix_runner_is_told_where_the_tutorials_are(
    tmp_path: Path, tutorials: str | None, expected: str
) -> None:
    env = _env_of(tmp_path, _site(tutorials), "base")
    assert env[ServerEnv.TUTORIALS] == expected


def test_a_server_in_an_image_uses_the_images_own(tmp_path: Path) -> None:
    env = _env_of(tmp_path, _site("/shared/tutorials"), "vision")
    assert ServerEnv.TUTORIALS not in env


def test_the_setting_must_be_an_absolute_path(tmp_path: Path) -> None:
    site_path = tmp_path / "site.yaml"
    site_path.write_text(_site("shared/tutorials"))
    with pytest.raises(Exception, match="tutorials"):
        load_site(site_path, env={})
