"""A correct engine, in each engine's shape, passes every check."""

from smoke.runner import ALL_CHECKS as CHECKS

CHECK_NAMES = ["readiness"] + [c.name for c in CHECKS]


def test_a_correct_engine_passes_every_check(engine, run_smoke):
    run = run_smoke(engine.url)
    assert run.code == 0, run.out
    # spec-decode and auth SKIP: no --speculative, no key (tests/smoke/test_spec_decode.py, test_auth.py)
    expected = {name: "PASS" for name in CHECK_NAMES} | {"spec-decode": "SKIP", "auth": "SKIP"}
    assert run.statuses() == expected, run.out
    assert run.report["verdict"] == "pass"
