"""The release catalog (recipe/releases.py) against its own data: flag lists, scripts, docs."""

import re
from pathlib import Path

import pytest

from recipe import releases
from recipe.releases import NEWEST, RELEASES, Bug, known_bugs_page, notes

ROOT = Path(__file__).resolve().parent.parent
FLAGS = ROOT / "recipe" / "flags"


def flags(engine: str, version: str) -> set[str]:
    path = FLAGS / f"{engine}-{version}.txt"
    assert path.is_file(), f"no {path.relative_to(ROOT)}: run `make flags`"
    return set(path.read_text().split())


@pytest.mark.parametrize("name", RELEASES)
def test_every_flag_a_row_renders_is_one_its_engine_version_accepts(name):
    r = RELEASES[name]
    accepted = flags(r.engine, r.checked_with)
    for version in r.also_checked_with:
        accepted &= flags(r.engine, version)
    wanted = {a.split("=")[0] for a in r.args if a.startswith("-")}
    assert wanted <= accepted, f"{name} renders {sorted(wanted - accepted)}, unknown to {r.engine} {r.checked_with}"


@pytest.mark.parametrize("name", RELEASES)
def test_renamed_flags_match_the_versions(name):
    r = RELEASES[name]
    newest = flags(r.engine, NEWEST[r.engine].checked_with)
    mine = flags(r.engine, r.checked_with)
    for canonical, spelled in r.renamed.items():
        assert canonical in newest, f"{canonical} is not a flag of the newest {r.engine}"
        assert spelled in mine and canonical not in mine, f"{name}: {r.engine} {r.checked_with} spells {canonical} otherwise"


def test_the_environment_builders_default_to_the_newest_catalog_versions():
    for engine in NEWEST:
        script = (ROOT / "scripts" / f"{engine}-env.sh").read_text()
        default = re.search(r"^DEFAULT_VERSION=(\S+)$", script, re.M).group(1)
        assert default == NEWEST[engine].checked_with, f"scripts/{engine}-env.sh builds {default} by default"


def test_one_default_row_per_engine_and_its_flags_exist():
    assert {e: r.image for e, r in releases.DEFAULTS.items()} == {
        "vllm": "vllm/vllm-openai:glm5", "sglang": "lmsysorg/sglang:glm5-hopper"}


def test_the_known_bugs_page_is_generated_from_the_catalog():
    page = ROOT / "docs" / "known-bugs.md"
    assert page.read_text() == known_bugs_page(), "docs/known-bugs.md drifted from recipe/releases.py: run `make golden`"


def test_default_vllm_image_with_mtp_names_the_streamed_tool_bug_and_both_ways_out():
    lines = notes("vllm", None, frozenset({"speculative"}))
    bug = [l for l in lines if "vllm#34449" in l]
    assert len(bug) == 1 and "--speculative off" in bug[0] and "vllm-v0.32.0" in bug[0]


def test_without_mtp_the_mtp_bugs_are_not_named():
    assert not [l for l in notes("vllm", None, frozenset()) if "vllm#34449" in l or "GLM-5#58" in l]


def test_an_unknown_image_says_which_version_its_flags_were_checked_against():
    assert notes("sglang", "example.org/sglang:mine", frozenset()) == [
        "example.org/sglang:mine is not in the release catalog (python generator.py --images): "
        "rendered with the newest sglang dialect (sglang-v0.5.23-cu130), its flags checked against sglang 0.5.23"]


def test_a_bug_must_name_known_features():
    with pytest.raises(ValueError, match="mtp"):
        Bug("x#1", "breaks", frozenset({"mtp"}), "sidecar", "none", "here")
