"""Every spelling of a flag the generator renders is refused in --engine-args.

recipe/engines.py names the flags the generator owns and their aliases; the engine's own parser
says which option strings share an action (SGLang's --tp-size and --tp). This fails when the
parser has a spelling of an owned flag that the spec does not own, and when an owned flag is
not a flag of the engine at all.
"""

import json
import os
import subprocess

import pytest

from recipe.engines import ENGINES

from engine_runs import ROOT, VENVS


@pytest.fixture(scope="module")
def dumps():
    """Both engines' parsers dumped at once (each import takes 10-40 s): engine -> process."""
    procs = {}
    for engine in sorted(ENGINES):
        python = VENVS[engine] / "bin" / "python"
        if python.is_file():
            procs[engine] = subprocess.Popen(
                [str(python), "-m", "conformance.option_groups", engine], cwd=ROOT, text=True,
                stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                env={**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(ROOT)})
    yield procs
    for proc in procs.values():
        if proc.poll() is None:
            proc.kill()


@pytest.fixture(scope="module", params=sorted(ENGINES))
def groups(request, dumps):
    engine = request.param
    if engine not in dumps:
        missing = f"{VENVS[engine]} is not built: run `make conformance`"
        (pytest.fail if os.environ.get("CONFORMANCE_REQUIRED") else pytest.skip)(missing)
    out, err = dumps[engine].communicate(timeout=600)
    assert dumps[engine].returncode == 0, err[-3000:]
    dump = json.loads(out)
    return ENGINES[engine], dump["groups"], dump["version"]


def test_every_spelling_of_an_owned_flag_is_owned(groups):
    spec, actions, _ = groups
    for strings in actions:
        owned = [s for s in strings if spec.owner_of(s) or s in spec.lifted_flags]
        if owned:
            free = [s for s in strings if not (spec.owner_of(s) or s in spec.lifted_flags)]
            assert not free, (f"{spec.label}: {free} spell the same flag as {owned}, which the generator "
                              f"renders: add them to `aliases` in recipe/engines.py")


def test_every_owned_flag_is_a_flag_of_the_engine(groups):
    spec, actions, _ = groups
    known = {s for strings in actions for s in strings}
    for flag in [*spec.owned_flags(), *spec.lifted_flags]:
        assert flag in known, f"{spec.label} has no {flag}: recipe/engines.py names a flag the engine lacks"


def test_the_flag_list_is_what_the_parser_accepts(groups):
    """recipe/flags/<engine>-<version>.txt, which --engine-args is checked against, is exactly the
    option strings of this venv's parser (regenerate the file from the parser when this fails)."""
    from recipe import passthrough

    spec, actions, version = groups
    listed = passthrough.known_flags(spec.name, version)
    parsed = {s for strings in actions for s in strings}
    assert listed == parsed, (f"recipe/flags/{spec.name}-{version}.txt disagrees with the parser: listed only "
                              f"{sorted(listed - parsed)}, parser only {sorted(parsed - listed)}")
