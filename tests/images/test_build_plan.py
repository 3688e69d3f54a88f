"""What `make images` would build, checked without building: the CUDA variant's plan
(`GPU=1`, which only a build host can run), content keys that follow what goes into
each build, and a clear refusal of an unknown image."""

from __future__ import annotations

import pytest

from .conftest import IMAGES, build_images


def test_the_cuda_variant_builds_from_the_nvidia_base_with_the_locks_torch() -> None:
    images = build_images()
    plan = images.runtimes(None, gpu=True, preload=False)  # no daemon needed for CUDA
    base = plan["base"]
    assert base.args["BASE_IMAGE"].startswith("nvidia/cuda:13.")
    assert base.args["SANDBOX_VARIANT"] == "cuda"
    assert base.extra["wheels"] == [], "the CUDA torch comes from the lock, not a wheel"
    for name in IMAGES[1:]:
        assert plan[name].args["BASE_IMAGE"] == base.tag
        assert plan[name].args["PRELOAD_MODELS"] == "0"
        assert plan[name].extra["wheels"] == []
    assert len({r.key for r in plan.values()}) == len(IMAGES)


def test_keys_follow_what_goes_into_each_build() -> None:
    images = build_images()
    once = images.runtimes(None, gpu=True, preload=False)
    again = images.runtimes(None, gpu=True, preload=False)
    assert {n: r.key for n, r in once.items()} == {n: r.key for n, r in again.items()}
    preloaded = images.runtimes(None, gpu=True, preload=True)
    # Preloading models changes the domain runtimes, never the base they share.
    assert preloaded["base"].key == once["base"].key
    assert all(preloaded[n].key != once[n].key for n in IMAGES[1:])


def test_an_unknown_image_is_refused_by_name() -> None:
    images = build_images()
    with pytest.raises(images.BuildError, match="unknown image.*gaming.*images are base"):
        images.build(None, ["base", "gaming"])
