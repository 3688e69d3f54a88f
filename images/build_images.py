#!/usr/bin/env python3
"""Builds the sandbox images (`make images`: every folder of images/ with a Dockerfile)
into the Docker daemon named by DOCKER_HOST, or, when none is given, into a private
dockerd this script starts on a data root kept between runs (.cache/images/docker).

Every image is two builds: its runtime (images/<image>/Dockerfile: the OS, torch and
the pinned libraries, rarely changed, slow) and the product layer on top
(images/product.Dockerfile: this checkout's server and JupyterLab extensions, the entry
point and the tutorials; seconds). Each build is tagged with a content key, a sha256 of
exactly what goes into it (its files, build arguments and parent's key); a build whose
key the daemon already holds is skipped, so a second run with nothing changed costs a
few seconds, and a code change rebuilds only the thin product layers.

    images/build_images.py [--gpu] [--only base,vision] [--preload-models]

--gpu builds the CUDA variant (FROM nvidia/cuda, torch with its nvidia-* wheels from the
locks) on a build host that reaches Docker Hub; the default CPU variant builds FROM a
Debian bookworm rootfs made with debootstrap (cached as .cache/images/bookworm-minbase.tar.gz)
with the CPU torch wheel (torch==2.13.0+cpu; TORCH_CPU_INDEX names an index that serves
it, e.g. https://download.pytorch.org/whl/cpu, where pip's own configuration does not).
--preload-models fills the model stores from the manifests (needs huggingface.co).
Tags made: sandbox/<image>:latest (what the hub runs) and sandbox/<image>:<key>.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
IMAGES: tuple[str, ...] = (
    "base",
    *sorted(
        p.parent.name for p in (ROOT / "images").glob("*/Dockerfile") if p.parent.name != "base"
    ),
)
"""Every folder of images/ with a Dockerfile, base first (the others build FROM it). The
hub offers what the site's images table names (hub_config/defaults.yaml: these five)."""
CACHE = ROOT / ".cache" / "images"
DATA_ROOT = CACHE / "docker"
"""The private dockerd's data root: built images and their layer cache live here."""
ROOTFS_TARBALL = CACHE / "bookworm-minbase.tar.gz"
WHEELS = CACHE / "wheels"
TORCH_PIN = "torch==2.13.0"
CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")
PRODUCT_DOCKERFILE = "images/product.Dockerfile"
PROJECT_SOURCES = ("pyproject.toml", "spawners", "extensions")
"""What the project wheel in the images is built from: the packages a single-user server
imports (the server extension, the course puller, the widgets, spawners.core); the hub's
own configuration (hub_config) never runs in a server and stays out."""
LABEXTENSION = "extensions/labextension"
LABEXTENSION_BUILT = f"{LABEXTENSION}/sandbox_labextension/labextension"
RUNTIME_FILES = {
    "base": (
        "images/base/Dockerfile", "images/base/install-lock.sh",
        "images/base/install-domain.sh", "images/base/requirements.txt",
        "images/base/models.yaml", "images/preload.py",
    ),
    **{
        name: (f"images/{name}/Dockerfile", f"images/{name}/requirements.txt",
               f"images/{name}/models.yaml")
        for name in IMAGES[1:]
    },
}  # fmt: skip
PRODUCT_FILES = (PRODUCT_DOCKERFILE, "images/base/rootfs", "notebooks")


class BuildError(RuntimeError):
    """A build cannot go on; the message says why and what to do."""


def cuda_base() -> str:
    """The CUDA variant's parent: the base Dockerfile's own default for BASE_IMAGE."""
    text = (ROOT / "images" / "base" / "Dockerfile").read_text()
    match = re.search(r"^ARG BASE_IMAGE=(\S+)$", text, re.M)
    if match is None:
        raise BuildError("images/base/Dockerfile declares no default BASE_IMAGE")
    return match[1]


def log(message: str) -> None:
    print(f"images: {message}", file=sys.stderr, flush=True)


# --- what goes into an image ------------------------------------------------------------


def source_files(paths: Iterable[str]) -> list[str]:
    """The files under ``paths`` that belong to the checkout (tracked, or new and not
    ignored: no caches, no venv, no node_modules), sorted."""
    out = subprocess.run(
        ["git", "-C", str(ROOT), "ls-files", "-z", "-co", "--exclude-standard", "--", *paths],
        check=True, capture_output=True,
    ).stdout.decode()  # fmt: skip
    return sorted({f for f in out.split("\0") if f and (ROOT / f).is_file()})


def built_files(folder: str) -> list[str]:
    """Every file of a build output the checkout ignores (the prebuilt labextension)."""
    base = ROOT / folder
    return sorted(p.relative_to(ROOT).as_posix() for p in base.rglob("*") if p.is_file())


def digest(parts: Iterable[str], files: Iterable[str] = (), paths: Iterable[Path] = ()) -> str:
    """sha256 over strings, then checkout files (by relative path) and other files."""
    h = hashlib.sha256()
    for part in parts:
        h.update(f"{part}\0".encode())
    for rel in files:
        h.update(f"{rel}\0".encode())
        h.update(hashlib.sha256((ROOT / rel).read_bytes()).digest())
    for path in paths:
        h.update(f"{path.name}\0".encode())
        with path.open("rb") as f:
            h.update(hashlib.file_digest(f, "sha256").digest())
    return h.hexdigest()[:16]


def project_files() -> list[str]:
    return [f for f in source_files(PROJECT_SOURCES) if not f.startswith(f"{LABEXTENSION}/")]


def labextension_files() -> list[str]:
    if not (ROOT / LABEXTENSION_BUILT / "package.json").is_file():
        raise BuildError(
            f"{LABEXTENSION_BUILT} is not built: run `make setup` "
            f"(or {LABEXTENSION}/build.sh) first"
        )
    meta = [f"{LABEXTENSION}/{n}" for n in ("pyproject.toml", "install.json")]
    init = f"{LABEXTENSION}/sandbox_labextension/__init__.py"
    return [*meta, init, *built_files(LABEXTENSION_BUILT)]


# --- inputs made on this machine -----------------------------------------------------


def rootfs_tarball() -> Path:
    """A Debian bookworm minbase rootfs as a tarball, cached: the CPU variant's base
    image is imported from it (no registry needed)."""
    if ROOTFS_TARBALL.exists():
        return ROOTFS_TARBALL
    if shutil.which("debootstrap") is None or os.geteuid() != 0:
        raise BuildError("the CPU variant's rootfs needs debootstrap, run as root")
    ROOTFS_TARBALL.parent.mkdir(parents=True, exist_ok=True)
    staging = ROOTFS_TARBALL.parent / f".rootfs-{os.getpid()}"
    partial = ROOTFS_TARBALL.with_suffix(f".{os.getpid()}.partial")
    log("debootstrap bookworm (minbase)")
    try:
        subprocess.run(
            ["debootstrap", "--variant=minbase", "bookworm", str(staging),
             "http://deb.debian.org/debian"],
            check=True, capture_output=True, timeout=1800,
        )  # fmt: skip
        with partial.open("wb") as out:
            tar = subprocess.Popen(["tar", "-C", str(staging), "-c", "."], stdout=subprocess.PIPE)
            subprocess.run(["gzip", "-1"], stdin=tar.stdout, stdout=out, check=True)
            if tar.wait() != 0:
                raise BuildError("tar of the rootfs failed")
        partial.replace(ROOTFS_TARBALL)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        partial.unlink(missing_ok=True)
    return ROOTFS_TARBALL


def cpu_wheel(name: str, version: str) -> Path | None:
    """The CPU build (``<version>+cpu``) of a pinned torch-family wheel, downloaded once
    into .cache/images/wheels; None when no index pip knows serves one."""
    pattern = f"{name}-{version}+cpu-cp311-*.whl"
    found = sorted(WHEELS.glob(pattern))
    if found:
        return found[-1]
    WHEELS.mkdir(parents=True, exist_ok=True)
    extra = os.environ.get("TORCH_CPU_INDEX")
    missing = WHEELS / f"{name}-{version}+cpu.missing"
    if missing.exists() and not extra:
        return None  # looked for before; only a new index can change that
    with tempfile.TemporaryDirectory(dir=WHEELS) as tmp:
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--only-binary=:all:",
             "--python-version", "3.11", "--platform", "manylinux_2_28_x86_64", "-d", tmp,
             f"{name}=={version}", *(["--extra-index-url", extra] if extra else [])],
            check=False,
        )  # fmt: skip
        for wheel in Path(tmp).glob(pattern):
            shutil.move(wheel, WHEELS / wheel.name)
    found = sorted(WHEELS.glob(pattern))
    if not found:
        missing.touch()
    return found[-1] if found else None


def torch_cpu_wheel() -> Path:
    wheel = cpu_wheel("torch", TORCH_PIN.split("==")[1])
    if wheel is None:
        raise BuildError(
            f"pip found no CPU build of {TORCH_PIN}; set TORCH_CPU_INDEX, "
            "e.g. https://download.pytorch.org/whl/cpu"
        )
    return wheel


def domain_cpu_wheels(name: str) -> list[Path]:
    """CPU builds of the torch-family packages a domain lock pins (torchvision): PyPI
    only has CUDA builds, which do not import beside the CPU torch."""
    wheels = []
    lock = (ROOT / "images" / name / "requirements.txt").read_text()
    for package, version in re.findall(r"^(torchvision|torchaudio)==([^\s;]+)", lock, re.M):
        wheel = cpu_wheel(package, version)
        if wheel is None:
            log(
                f"WARNING: no CPU build of {package}=={version} (set TORCH_CPU_INDEX, e.g. "
                f"https://download.pytorch.org/whl/cpu): sandbox/{name} keeps the CUDA build, "
                f"which does not import beside the CPU torch"
            )
        else:
            wheels.append(wheel)
    return wheels


def product_wheels(target: Path) -> None:
    """Wheels of the project package and the prebuilt labextension, from this checkout."""
    target.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="sandbox-src-") as src:
        for rel in project_files():
            dest = Path(src) / rel
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / rel, dest)
        for source in (Path(src), ROOT / LABEXTENSION):
            subprocess.run(
                [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
                 "-w", str(target), str(source)],
                check=True, cwd=src,
            )  # fmt: skip


# --- the daemon -----------------------------------------------------------------------


@dataclass
class Docker:
    env: dict[str, str]

    def run(self, *args: str, timeout: float = 3600, **kwargs) -> subprocess.CompletedProcess:
        kwargs.setdefault("capture_output", True)
        env = {**self.env, "DOCKER_BUILDKIT": "0"}  # the classic builder: --network host
        result = subprocess.run(["docker", *args], env=env, text=True, timeout=timeout, **kwargs)
        if result.returncode != 0:
            out = ((result.stdout or "") + (result.stderr or ""))[-6000:]
            raise BuildError(f"docker {' '.join(args[:3])} ... failed:\n{out}")
        return result

    def has(self, ref: str) -> bool:
        probe = subprocess.run(
            ["docker", "image", "inspect", "--format", "{{.Id}}", ref],
            env=self.env, capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        return probe.returncode == 0


@contextlib.contextmanager
def data_root_lock(data_root: Path, wait_s: float = 3600) -> Iterator[None]:
    """One dockerd at a time on a data root (make images, a test run): others wait."""
    data_root.parent.mkdir(parents=True, exist_ok=True)
    with open(data_root.parent / f"{data_root.name}.lock", "w") as lock:
        deadline, told = time.monotonic() + wait_s, False
        while True:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise BuildError(f"another dockerd still uses {data_root}") from None
                if not told:
                    log(f"waiting for the other dockerd on {data_root} to stop")
                    told = True
                time.sleep(1)
        yield


@contextlib.contextmanager
def private_dockerd(data_root: Path = DATA_ROOT) -> Iterator[Docker]:
    """A dockerd of its own (exec root and socket in a temporary folder, no bridge, no
    iptables rules) on the persistent data root; stopped on the way out."""
    if shutil.which("dockerd") is None or shutil.which("docker") is None:
        raise BuildError("dockerd is not installed (Debian: apt-get install docker.io)")
    with data_root_lock(data_root):
        run = Path(tempfile.mkdtemp(prefix="sbx-img-", dir="/tmp"))
        sock = run / "docker.sock"
        env = {**os.environ, "DOCKER_HOST": f"unix://{sock}", "DOCKER_CONFIG": str(run / "client")}
        with (run / "dockerd.log").open("wb") as out:
            proc = subprocess.Popen(
                ["dockerd", "--data-root", str(data_root), "--exec-root", str(run / "exec"),
                 "--pidfile", str(run / "dockerd.pid"), "--host", f"unix://{sock}",
                 "--bridge=none", "--iptables=false", "--ip6tables=false"],
                stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip
        try:
            deadline = time.monotonic() + 60
            while True:
                if proc.poll() is not None:
                    tail = (run / "dockerd.log").read_text(errors="replace")[-3000:]
                    raise BuildError(f"dockerd exited with {proc.returncode}:\n{tail}")
                ok = sock.exists() and subprocess.run(
                    ["docker", "info"], env=env, capture_output=True, timeout=30
                ).returncode == 0  # fmt: skip
                if ok:
                    break
                if time.monotonic() > deadline:
                    raise BuildError("dockerd did not answer within 60 s")
                time.sleep(0.2)
            yield Docker(env)
        finally:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait(timeout=30)
            _unmount_below(run)
            _unmount_below(data_root)
            shutil.rmtree(run, ignore_errors=True)


def _unmount_below(root: Path) -> None:
    """Lazily unmount whatever the stopped daemon left mounted under root."""
    mounts = Path("/proc/self/mounts").read_text().splitlines()
    points = [line.split()[1] for line in mounts if len(line.split()) > 1]
    for point in sorted((p for p in points if p.startswith(f"{root}/")), reverse=True):
        subprocess.run(["umount", "-l", point], capture_output=True, check=False)


@contextlib.contextmanager
def target_daemon() -> Iterator[tuple[Docker, bool]]:
    """(the daemon, whether it is the image store's own)."""
    if os.environ.get("DOCKER_HOST"):
        yield Docker(dict(os.environ)), False
    else:
        with private_dockerd() as docker:
            yield docker, True


# --- builds ------------------------------------------------------------------------------


def _stage(context: Path, files: Iterable[str]) -> None:
    for rel in files:
        dest = context / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / rel, dest)


def _build(docker: Docker, dockerfile: str, context: Path, tag: str, args: dict) -> float:
    """docker build; its output goes to .cache/images/logs/<repository>.log."""
    start = time.monotonic()
    cmd = ["build", "--network", "host", "-f", str(context / dockerfile), "-t", tag]
    for k, v in args.items():
        cmd += ["--build-arg", f"{k}={v}"]
    logs = CACHE / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    path = logs / f"{tag.split(':')[0].replace('/', '-')}.log"
    with path.open("w") as out:
        try:
            docker.run(*cmd, str(context), capture_output=False, stdout=out, stderr=out)
        except BuildError:
            tail = path.read_text(errors="replace")[-6000:]
            raise BuildError(f"building {tag} failed (whole log: {path}):\n{tail}") from None
    return time.monotonic() - start


@dataclass(frozen=True)
class Built:
    image: str
    tag: str
    """sandbox/<image>:<key>, the exact build (sandbox/<image>:latest points to it)."""
    runtime: str
    built: tuple[str, ...]
    """What this run had to build (empty: everything came from the cache)."""


@dataclass(frozen=True)
class Runtime:
    """One runtime build: its key, Dockerfile arguments and the files beyond its own
    (CA bundle, wheels) that go into its context."""

    name: str
    key: str
    args: dict[str, str]
    extra: dict[str, list[Path]]
    """context folder -> files copied into it"""

    @property
    def tag(self) -> str:
        return f"sandbox-runtime/{self.name}:{self.key}"


def runtimes(docker: Docker | None, *, gpu: bool, preload: bool) -> dict[str, Runtime]:
    """Every image's runtime build, keyed by what goes into it (the CPU variant's
    rootfs is imported into ``docker`` here when it is missing; None: plan only)."""
    ca = [CA_BUNDLE] if CA_BUNDLE.is_file() else []
    common = {"PIP_CERT": "/opt/sandbox/build-ca/ca.crt"} if ca else {}
    if gpu:
        parent = parent_key = cuda_base()
        torch = []
    else:
        tarball = rootfs_tarball()
        torch = [torch_cpu_wheel()]
        parent_key = digest(["rootfs"], paths=[tarball])
        parent = f"sandbox-build/bookworm:{parent_key}"
        if docker is not None and not docker.has(parent):
            log(f"importing the rootfs as {parent}")
            docker.run("import", str(tarball), parent)
    variant = "cuda" if gpu else "cpu"
    base_args = {**common, "BASE_IMAGE": parent, "SANDBOX_VARIANT": variant}
    base_key = digest(
        ["runtime", "base", parent_key, json.dumps(base_args, sort_keys=True)],
        RUNTIME_FILES["base"], [*ca, *torch],
    )  # fmt: skip
    out = {"base": Runtime("base", base_key, base_args, {"build-ca": ca, "wheels": torch})}
    for name in IMAGES[1:]:
        wheels = [] if gpu else domain_cpu_wheels(name)
        args = {**common, "BASE_IMAGE": out["base"].tag, "PRELOAD_MODELS": str(int(preload))}
        key = digest(
            ["runtime", name, base_key, json.dumps(args, sort_keys=True)],
            RUNTIME_FILES[name], wheels,
        )  # fmt: skip
        out[name] = Runtime(name, key, args, {"build-ca": [], "wheels": wheels})
    return out


def build(
    docker: Docker,
    images: Iterable[str] = IMAGES,
    *,
    gpu: bool = False,
    preload: bool = False,
    prune: bool = False,
) -> list[Built]:
    """Build what is missing of ``images`` (their runtimes, base's first, then the
    product layer on each) and point sandbox/<image>:latest at the result. ``prune``
    (the image store's own daemon): then drop the builds of earlier keys."""
    wanted = list(images)
    unknown = sorted(set(wanted) - set(IMAGES))
    if unknown:
        raise BuildError(f"unknown image(s) {', '.join(unknown)}; images are {', '.join(IMAGES)}")
    plan = runtimes(docker, gpu=gpu, preload=preload)
    product_sources = [*source_files(PRODUCT_FILES), *project_files(), *labextension_files()]
    product_key = digest(["product"], product_sources)
    timings: dict[str, float] = {}
    results: list[Built] = []
    with tempfile.TemporaryDirectory(prefix="sandbox-images-") as tmp:
        wheels_made = Path(tmp) / "product-wheels"
        for name in wanted:
            built: list[str] = []
            for runtime in [plan["base"], plan[name]] if name != "base" else [plan["base"]]:
                if docker.has(runtime.tag):
                    continue
                context = Path(tmp) / f"runtime-{runtime.name}"
                _stage(context, RUNTIME_FILES[runtime.name])
                for folder, files in runtime.extra.items():
                    (context / folder).mkdir(parents=True, exist_ok=True)
                    for path in files:
                        target = "ca.crt" if folder == "build-ca" else path.name
                        shutil.copy2(path, context / folder / target)
                log(f"building the {runtime.name} runtime ({runtime.tag})")
                timings[f"{runtime.name} runtime"] = _build(
                    docker, f"images/{runtime.name}/Dockerfile", context, runtime.tag, runtime.args
                )
                built.append(f"{runtime.name} runtime")
                shutil.rmtree(context, ignore_errors=True)
            tag = f"sandbox/{name}:{digest(['image', name, plan[name].key, product_key])}"
            if not docker.has(tag):
                context = Path(tmp) / f"product-{name}"
                _stage(context, source_files(PRODUCT_FILES))
                if not wheels_made.exists():
                    product_wheels(wheels_made)
                shutil.copytree(wheels_made, context / "product")
                log(f"building {tag}")
                timings[f"{name} product"] = _build(
                    docker, PRODUCT_DOCKERFILE, context, tag,
                    {"RUNTIME": plan[name].tag, "SANDBOX_IMAGE": name},
                )  # fmt: skip
                built.append(f"{name} product")
                shutil.rmtree(context, ignore_errors=True)
            docker.run("tag", tag, f"sandbox/{name}:latest")
            results.append(Built(name, tag, plan[name].tag, tuple(built)))
    for step, seconds in timings.items():
        log(f"{step}: {seconds:.0f} s")
    if prune and set(wanted) == set(IMAGES):
        keep = {r.tag for r in results} | {r.tag for r in plan.values()}
        prune_old_builds(docker, keep)
    return results


def prune_old_builds(docker: Docker, keep: set[str]) -> None:
    """Untag the keyed builds this checkout no longer makes (earlier keys of the
    images and their runtimes) and drop the layers nothing uses any more, so the image
    store does not grow with every change."""
    repositories = {f"{kind}/{name}" for kind in ("sandbox", "sandbox-runtime") for name in IMAGES}
    listed = docker.run("image", "ls", "--format", "{{.Repository}}:{{.Tag}}").stdout.split()
    stale = [
        ref for ref in listed
        if ref.rsplit(":", 1)[0] in repositories and not ref.endswith(":latest") and ref not in keep
    ]  # fmt: skip
    for ref in stale:
        subprocess.run(["docker", "rmi", ref], env=docker.env, capture_output=True, check=False)
    docker.run("image", "prune", "-f")
    if stale:
        log(f"pruned {len(stale)} earlier build(s)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--gpu", action="store_true", help="the CUDA variant (build host)")
    parser.add_argument("--only", default=",".join(IMAGES), help="comma-separated images")
    parser.add_argument(
        "--preload-models", action="store_true", help="fill the model stores (needs the hub)"
    )
    args = parser.parse_args(argv)
    start = time.monotonic()
    try:
        with target_daemon() as (docker, own):
            results = build(
                docker, [i for i in args.only.split(",") if i], gpu=args.gpu,
                preload=args.preload_models, prune=own,
            )  # fmt: skip
            for r in results:
                size = docker.run("image", "inspect", "--format", "{{.Size}}", r.tag).stdout
                how = ", ".join(r.built) or "cached"
                print(f"sandbox/{r.image}:latest = {r.tag} ({int(size) / 1e9:.2f} GB; {how})")
    except BuildError as e:
        print(f"images: {e}", file=sys.stderr)
        return 1
    log(f"done in {time.monotonic() - start:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
