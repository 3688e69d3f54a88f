"""The site file's hub.backend section: validated, then applied to the engine's spawner."""

from __future__ import annotations

from pathlib import Path

import pytest
from traitlets.config import Config

from hub_config.backends import configure_backend
from hub_config.site import SiteError, load_site


def _site(tmp_path: Path, text: str):
    path = tmp_path / "site.yaml"
    path.write_text(text)
    return load_site(path, env={})


def _configure(tmp_path: Path, text: str) -> Config:
    c = Config()
    configure_backend(c, _site(tmp_path, text), tmp_path)
    return c


def test_default_is_local(tmp_path: Path) -> None:
    c = _configure(tmp_path, "site: {name: t}\n")
    assert c.JupyterHub.spawner_class.__name__ == "LocalSliceSpawner"
    assert c.Spawner.poll_interval == 30


def test_slurm_settings_reach_the_spawner(tmp_path: Path) -> None:
    c = _configure(
        tmp_path,
        """
site: {name: t}
hub:
  internal_url: http://10.0.0.5
  backend:
    kind: slurm
    poll_interval: 5
    model_store: /shared/models
    host_share: {cpus_per_gpu: 14}
    slurm:
      partition: gpu
      account: startup-a
      qos: interactive
      gres_types: {1g.10gb: nvidia_h100_80gb_hbm3_1g.10gb}
      when_busy: refuse
      time_limit: "8:00:00"
      extra_options: [--constraint=h100]
      images: {vision: {apptainer: /shared/images/vision.sif}, base: {prefix: /shared/envs/base}}
""",
    )
    s = c.SlurmSliceSpawner
    assert c.JupyterHub.spawner_class.__name__ == "SlurmSliceSpawner"
    assert (s.partition, s.account, s.qos) == ("gpu", "startup-a", "interactive")
    assert s.gres_types == {"1g.10gb": "nvidia_h100_80gb_hbm3_1g.10gb"}
    assert s.when_busy == "refuse" and s.time_limit == "8:00:00"
    assert s.image_runners["vision"] == {"apptainer": "/shared/images/vision.sif"}
    assert s.model_store == "/shared/models" and s.node_shape["cpus_per_gpu"] == 14
    assert c.Spawner.poll_interval == 5


def test_slurm_port_report_is_hardened(tmp_path: Path) -> None:
    from jupyterhub.apihandlers import default_handlers

    _configure(
        tmp_path, "site: {name: t}\nhub: {internal_url: http://10.0.0.5, backend: {kind: slurm}}\n"
    )
    handlers = [h for route, h, *_ in default_handlers if route == r"/api/batchspawner"]
    assert [h.__name__ for h in handlers] == ["PortReportHandler"]


def test_docker_settings_reach_the_spawner(tmp_path: Path) -> None:
    c = _configure(
        tmp_path,
        """
site: {name: t}
hub:
  internal_url: http://172.17.0.1
  backend:
    kind: docker
    model_store: /srv/models
    docker: {images: {vision: "registry.example/sandbox/vision:2.1"}, gpu_device_requests: false}
""",
    )
    s = c.DockerSliceSpawner
    assert s.image_tags == {"vision": "registry.example/sandbox/vision:2.1"}
    assert s.gpu_device_requests == "off" and s.model_store == "/srv/models"
    assert s.network_name == "sandbox" and s.use_internal_ip is True


def test_kubernetes_settings_reach_the_spawner(tmp_path: Path) -> None:
    c = _configure(
        tmp_path,
        """
site: {name: t}
hub:
  internal_url: http://hub
  backend:
    kind: kubernetes
    kubernetes: {namespace: labs, team_namespaces: true, mig_strategy: single}
""",
    )
    s = c.KubeSliceSpawner
    assert (s.namespace, s.team_namespaces, s.mig_strategy) == ("labs", True, "single")
    assert s.enable_user_namespaces is True


@pytest.mark.parametrize(
    ("backend", "where"),
    [
        ("{kind: slurm, slurm: {partition: 'gpu\\n#SBATCH --qos=high'}}", "partition"),
        ("{kind: slurm, slurm: {partition: 'gpu --qos=high'}}", "partition"),
        ("{kind: slurm, slurm: {gres_types: {1g.10gb: 'a b'}}}", "gres_types"),
        ("{kind: slurm, slurm: {gres_types: {9g.90gb: x}}}", "gres_types"),
        ("{kind: slurm, slurm: {extra_options: ['--gres=gpu:8 --qos=x']}}", "extra_options"),
        ("{kind: slurm, slurm: {images: {vision: {apptainer: 'x.sif'}}}}", "images"),
        ("{kind: slurm, slurm: {paritition: gpu}}", "paritition"),
        ("{kind: docker, docker: {images: {vision: 'Bad Tag'}}}", "images"),
        ("{kind: docker, docker: {gpu_device_requests: sometimes}}", "gpu_device_requests"),
        ("{kind: kubernetes, kubernetes: {namespace: Bad_NS}}", "namespace"),
        ("{kind: nomad}", "kind"),
        ("{kind: local, model_store: 'relative/path'}", "model_store"),
    ],
)
def test_bad_backend_settings_stop_the_hub(tmp_path: Path, backend: str, where: str) -> None:
    with pytest.raises(SiteError) as e:
        _site(tmp_path, f"site: {{name: t}}\nhub: {{backend: {backend}}}\n")
    assert where in str(e.value)
