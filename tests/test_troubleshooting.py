"""The README's troubleshooting table is generated from the follower's log rules and the
sidecar's hints (stack/troubleshooting.py); it must say what the data says."""

from pathlib import Path

from smoke import hints
from stack import logrules, troubleshooting

ROOT = Path(__file__).resolve().parent.parent


def test_the_readme_table_is_the_data():
    readme = (ROOT / "README.md").read_text()
    assert troubleshooting.readme_with_table(readme) == readme, \
        "README.md's troubleshooting table drifted from stack/logrules.py or smoke/hints.py: run `make golden`"


def test_every_fatal_rule_and_hint_has_a_row_with_its_advice():
    table = troubleshooting.markdown()
    fatals = [f for rules in logrules.RULES.values() for f in rules.fatals] + list(logrules.COMPOSE_UP)
    for fatal in fatals:
        assert f"`{fatal.name}` | {troubleshooting._cell(fatal.hint)} |" in table, fatal.name
    for name, text in vars(hints).items():
        if name.isupper() and isinstance(text, str):
            assert troubleshooting._cell(text) in table, name
