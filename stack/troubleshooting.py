"""The README's troubleshooting table, from the data that makes the diagnoses: the load
follower's fatal log rules (stack/logrules.py) and the sidecar's hints (smoke/hints.py).

`make golden` rewrites the block between the markers in README.md; a test fails when the
README and the data disagree. `python -m stack.troubleshooting` prints the table.
"""

from . import logrules

START, END = "<!-- troubleshooting:start -->\n", "<!-- troubleshooting:end -->"


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def rows() -> list[tuple[str, str, str]]:
    """(seen by, problem, what to do): the follower's fatal rules, a rule both engines share with
    the same hint on one row, then the `docker compose up` rules, then the sidecar's hints."""
    from smoke import hints

    out: list[tuple[str, str, str]] = []
    seen: dict[tuple[str, str], int] = {}
    for rules in logrules.RULES.values():
        label = {"vllm": "vLLM", "sglang": "SGLang"}.get(rules.engine, rules.engine)
        for fatal in rules.fatals:
            key = (fatal.name, fatal.hint)
            if key in seen:
                where, name, hint = out[seen[key]]
                out[seen[key]] = (where.replace(")", f", {label})"), name, hint)
                continue
            seen[key] = len(out)
            out.append((f"`make up` log ({label})", f"`{fatal.name}`", fatal.hint))
    for fatal in logrules.COMPOSE_UP:
        out.append(("`make up`: docker compose", f"`{fatal.name}`", fatal.hint))
    for name, value in vars(hints).items():  # in the file's order
        if name.isupper() and isinstance(value, str):
            out.append(("`make smoke` FAIL", f"`{name.lower().replace('_', '-')}`", value))
    return out


def markdown() -> str:
    lines = ["| seen by | diagnosis | what to do |", "|---|---|---|"]
    lines += [f"| {where} | {name} | {_cell(hint)} |" for where, name, hint in rows()]
    return "\n".join(lines) + "\n"


def readme_with_table(readme: str) -> str:
    """README.md with the block between the troubleshooting markers replaced by the table."""
    head, found, rest = readme.partition(START)
    if not found:
        raise ValueError(f"README.md has no {START.strip()} marker")
    _, _, tail = rest.partition(END)
    return f"{head}{START}{markdown()}{END}{tail}"


if __name__ == "__main__":
    import sys

    from recipe.render import ROOT
    from recipe.store import write

    if sys.argv[1:] == ["--write"]:  # make golden
        readme = ROOT / "README.md"
        print(f"{write(readme, readme_with_table(readme.read_text()), force=True)}: README.md")
    else:
        print(markdown(), end="")
