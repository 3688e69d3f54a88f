"""A Slurm job goes to the partition, account and QOS of its team's kind
(hub.backend.slurm.team_kinds, as the Ansible slurm role makes them), else the site's.

The site is configured by the function production uses; slices are reserved through the
ledger, charged to a team as a spawn charges them; the batch job is what would be sent."""

from __future__ import annotations

from pathlib import Path

import pytest
from traitlets.config import Config

from hub_config.site import load_site
from hub_config.wiring import configure
from spawners.backends.slurm_script import render_batch_script
from tests.backends import inprocess

SITE = """
site: {name: Slurm teams}
hub:
  internal_url: http://10.0.0.10
  backend:
    kind: slurm
    slurm:
      submit_as_user: false
      partition: gpu
      qos: interactive
      team_kinds:
        course: {partition: course, account: course, qos: course}
        startup: {partition: startup, account: null, qos: null}
teams:
  ml101: {kind: course, groups: [ml101-students]}
  acme: {kind: startup, groups: [acme]}
  ops: {kind: staff, groups: [ops]}
"""


@pytest.fixture
def job_for(tmp_path: Path):  # noqa: ANN201
    site_path = tmp_path / "site.yaml"
    site_path.write_text(SITE)
    c = Config()
    ctx = configure(c, load_site(site_path, env={}), env={"SANDBOX_DATA": str(tmp_path / "data")})
    ctx.ledger.create_schema()

    def make(user: str, team: str | None):  # noqa: ANN202
        spawner = c.JupyterHub.spawner_class(
            config=c, user=inprocess.user("root"), hub=inprocess.hub()
        )
        record = ctx.ledger.reserve(
            user=user, server_name="", image="base", slice_name="cpu",
            inventory=ctx.inventory, epoch=ctx.epoch, engine="slurm", team=team,
        )  # fmt: skip
        return spawner.build_job(record)

    return make


def test_a_course_job_goes_to_the_course_partition_account_and_qos(job_for) -> None:  # noqa: ANN001
    job = job_for("ana", "ml101")
    assert (job.partition, job.account, job.qos) == ("course", "course", "course")
    script = render_batch_script(job)
    assert "#SBATCH --partition=course" in script
    assert "#SBATCH --account=course" in script
    assert "#SBATCH --qos=course" in script


def test_a_null_takes_the_site_wide_setting(job_for) -> None:  # noqa: ANN001
    job = job_for("bo", "acme")
    assert (job.partition, job.account, job.qos) == ("startup", None, "interactive")


def test_a_kind_not_listed_and_no_team_take_the_site_wide_settings(job_for) -> None:  # noqa: ANN001
    for user, team in (("cy", "ops"), ("di", None)):
        job = job_for(user, team)
        assert (job.partition, job.account, job.qos) == ("gpu", None, "interactive")
