"""Images are site data: a site adds one in its site file, without code, and it is on the
spawn form (in the reader's language when the site gives several), accepted in
user_options, run by each backend under the name the site maps it to, and validated.
The schema names no image."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from traitlets.config import Config

from hub_config.site import DEFAULTS_PATH, SCHEMA_PATH, SiteError, load_site
from hub_config.wiring import configure
from spawners.backends.docker_spec import image_tag
from spawners.core.images import image_table
from spawners.core.options import Choices, OptionsError, parse_user_options
from spawners.form import render_form
from spawners.refusal_status import http_status

REPO = Path(__file__).resolve().parents[2]

GENOMICS = """
site: {name: Genome lab}
gpus: {source: simulated, simulated_count: 1}
images:
  genomics:
    description: {en: "GATK and samtools for sequencing runs", ko: "염기서열 분석용 GATK와 samtools"}
    min_slice: 1g.10gb
  notes: {description: "Plain notebooks"}
hub:
  backend:
    docker: {images: {genomics: "registry.example/genomics:2.3"}}
"""


def site_from(tmp_path: Path, text: str) -> Any:
    path = tmp_path / "site.yaml"
    path.write_text(text, encoding="utf-8")
    return load_site(path, env={})


def form_text(html: str) -> str:
    return re.sub(r"<[^>]+>", "", html)


def test_a_site_image_joins_the_defaults_in_the_table(tmp_path: Path) -> None:
    table = image_table(site_from(tmp_path, GENOMICS)["images"])
    assert list(table) == ["base", "speech", "vision", "medical", "legal", "genomics", "notes"]
    genomics = table["genomics"]
    assert genomics.min_slice == "1g.10gb"
    assert genomics.description_in("ko", "en") == "염기서열 분석용 GATK와 samtools"
    assert genomics.description_in("fr", "en") == "GATK and samtools for sequencing runs"
    assert table["notes"].text == "Plain notebooks" and table["notes"].min_slice is None


def test_the_hub_offers_the_site_image_on_the_form_and_in_user_options(tmp_path: Path) -> None:
    ctx = configure(Config(), site_from(tmp_path, GENOMICS), env={"SANDBOX_DATA": str(tmp_path)})
    ctx.ledger.create_schema()
    choices = ctx.choices_for("alice", frozenset())
    assert "genomics" in choices.images and "genomics" in ctx.images

    english = form_text(render_form(choices, ctx.free_now(), ctx.images, ctx.site_name))
    assert "genomics: GATK and samtools for sequencing runs" in english
    assert "notes: Plain notebooks" in english
    korean = form_text(
        render_form(choices, ctx.free_now(), ctx.images, ctx.site_name, language="ko")
    )
    assert "genomics: 염기서열 분석용 GATK와 samtools" in korean
    # The defaults' texts stay translated by the catalogue; a site's one text as written.
    assert "base: Python, PyTorch, JupyterLab: 처음이라면 여기서 시작하세요" in korean
    assert "notes: Plain notebooks" in korean

    request = parse_user_options({"image": "genomics", "slice": "cpu"}, choices, ctx.images)
    assert (request.image, request.slice_name) == ("genomics", "cpu")
    with pytest.raises(OptionsError) as info:
        parse_user_options({"image": "genomix"}, choices, ctx.images)
    assert info.value.code == "invalid-options" and http_status(info.value.code) == 400
    assert info.value.message == (
        "Unknown image 'genomix'. Choose one of: "
        "base, speech, vision, medical, legal, genomics, notes."
    )


def test_each_backend_runs_the_name_the_site_maps(tmp_path: Path) -> None:
    site = site_from(
        tmp_path,
        GENOMICS.replace("docker: {images:", "kind: docker\n    docker: {network: host, images:"),
    )
    c = Config()
    configure(c, site, env={"SANDBOX_DATA": str(tmp_path)})
    tags = c.DockerSliceSpawner.image_tags
    assert image_tag("genomics", tags) == "registry.example/genomics:2.3"
    assert image_tag("notes", tags) == "sandbox/notes"  # unlisted: what make images tags


def test_a_team_may_be_given_a_site_image(tmp_path: Path) -> None:
    site = site_from(
        tmp_path,
        GENOMICS + "teams:\n  seq: {kind: startup, groups: [seq], policy: {images: [genomics]}}\n",
    )
    ctx = configure(Config(), site, env={"SANDBOX_DATA": str(tmp_path)})
    assert ctx.choices_for("alice", frozenset({"seq"})).images == ("genomics",)


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        # Names: lower case, as Docker tags and Kubernetes names need.
        ("images: {Genomics: {description: x}}\n", "at images:"),
        ("images: {'gen omics': {description: x}}\n", "at images:"),
        ("images: {genomics-: {description: x}}\n", "at images:"),
        ("images: {g..x: {description: x}}\n", "at images:"),
        (f"images: {{{'g' * 33}: {{description: x}}}}\n", "at images:"),
        ("images: {genomics: {}}\n", "at images.genomics"),
        ("images: {genomics: {description: ''}}\n", "at images.genomics.description"),
        # A language the hub has no catalogue for would never be shown.
        ("images: {genomics: {description: {fr: x}}}\n", "at images.genomics.description"),
        ("images: {genomics: {description: x, min_slice: 9g.90gb}}\n", "at images.genomics"),
        ("images: {genomics: {description: x, tag: y}}\n", "at images.genomics"),
    ],
)
def test_a_malformed_image_is_refused_where_it_is(tmp_path: Path, text: str, fragment: str) -> None:
    with pytest.raises(SiteError, match="is not valid") as info:
        site_from(tmp_path, text)
    assert fragment in str(info.value)


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("defaults: {image: genomics, slice: cpu}\n", "defaults.image 'genomics' is not in images"),
        (
            "hub: {backend: {docker: {images: {genomics: reg/g:1}}}}\n",
            "hub.backend.docker.images maps genomics, not among the site's images",
        ),
        (
            "hub: {backend: {kubernetes: {images: {genomics: reg/g:1}}}}\n",
            "hub.backend.kubernetes.images maps genomics",
        ),
        (
            "hub: {backend: {slurm: {images: {genomics: {prefix: /opt/g}}}}}\n",
            "hub.backend.slurm.images maps genomics",
        ),
        (
            "teams: {seq: {kind: startup, groups: [seq], policy: {images: [genomics]}}}\n",
            "genomics not among the site's images",
        ),
    ],
)
def test_an_image_the_site_does_not_offer_cannot_be_named(
    tmp_path: Path, text: str, fragment: str
) -> None:
    with pytest.raises(SiteError) as info:
        site_from(tmp_path, text)
    assert fragment in str(info.value)


def test_the_schema_names_no_image() -> None:
    """The images are the site's table: no enum or pattern of the schema lists them."""
    schema = SCHEMA_PATH.read_text(encoding="utf-8")
    for name in yaml.safe_load(DEFAULTS_PATH.read_text(encoding="utf-8"))["images"]:
        assert not re.search(rf"[\[(|,\s]{name}[\]|),]", schema), name


def test_the_example_in_the_docs_loads(tmp_path: Path) -> None:
    docs = (REPO / "docs" / "configuration.md").read_text(encoding="utf-8")
    section = docs.split("## Adding an image", 1)[1]
    example = re.search(r"```yaml\n(.*?)```", section, re.S)
    assert example is not None
    c = Config()
    ctx = configure(c, site_from(tmp_path, example[1]), env={"SANDBOX_DATA": str(tmp_path)})
    assert ctx.images["genomics"].description_in("ko", "en") == "염기서열 분석용 GATK와 samtools"
    assert ctx.choices_for("bo", frozenset({"sequencing"})).images == ("base", "genomics")
    site = site_from(tmp_path, example[1])
    assert site["hub"]["backend"]["docker"]["images"] == {
        "genomics": "registry.example/sandbox-genomics:1.0"
    }


def test_the_choices_keep_the_site_order(tmp_path: Path) -> None:
    table = image_table(site_from(tmp_path, GENOMICS)["images"])
    choices = Choices(tuple(table), ("cpu",), "genomics", "cpu")
    html = render_form(choices, {}, table, "Hub")
    assert html.index('value="legal"') < html.index('value="genomics"') < html.index('"notes"')
    assert '<option value="genomics" selected>' in html
