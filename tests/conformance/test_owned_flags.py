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


@pytest.fixture(scope="module", params=sorted(ENGINES))
def groups(request):
    engine = request.param
    python = VENVS[engine] / "bin" / "python"
    if not python.is_file():
        missing = f"{VENVS[engine]} is not built: run `make conformance`"
        (pytest.fail if os.environ.get("CONFORMANCE_REQUIRED") else pytest.skip)(missing)
    proc = subprocess.run([str(python), "-m", "conformance.option_groups", engine], cwd=ROOT,
                          capture_output=True, text=True, timeout=600,
                          env={**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(ROOT)})
    assert proc.returncode == 0, proc.stderr[-3000:]
    return ENGINES[engine], json.loads(proc.stdout)


def test_every_spelling_of_an_owned_flag_is_owned(groups):
    spec, actions = groups
    for strings in actions:
        owned = [s for s in strings if spec.owner_of(s) or s in spec.lifted_flags]
        if owned:
            free = [s for s in strings if not (spec.owner_of(s) or s in spec.lifted_flags)]
            assert not free, (f"{spec.label}: {free} spell the same flag as {owned}, which the generator "
                              f"renders: add them to `aliases` in recipe/engines.py")


def test_every_owned_flag_is_a_flag_of_the_engine(groups):
    spec, actions = groups
    known = {s for strings in actions for s in strings}
    for flag in [*spec.owned_flags(), *spec.lifted_flags]:
        assert flag in known, f"{spec.label} has no {flag}: recipe/engines.py names a flag the engine lacks"


def test_the_flag_list_is_what_the_parser_accepts(groups):
    """recipe/flags/<engine>-<version>.txt, which --engine-args is checked against, is exactly the
    option strings of this venv's parser (regenerate the file from the parser when this fails)."""
    from recipe import passthrough

    spec, actions = groups
    python = VENVS[spec.name] / "bin" / "python"
    version = subprocess.run([str(python), "-c", f"import {spec.name}; print({spec.name}.__version__.split('+')[0])"],
                             capture_output=True, text=True, timeout=300, cwd=ROOT).stdout.strip()
    listed = passthrough.known_flags(spec.name, version)
    parsed = {s for strings in actions for s in strings}
    assert listed == parsed, (f"recipe/flags/{spec.name}-{version}.txt disagrees with the parser: listed only "
                              f"{sorted(listed - parsed)}, parser only {sorted(parsed - listed)}")
