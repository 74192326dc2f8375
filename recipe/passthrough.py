"""Engine flags and environment the user adds (--engine-args, --env), checked before rendering.

A flag name must be one that the engine version's own parser accepts (recipe/flags/, generated
from that parser by `make flags`) and not one the generator renders itself; an environment
name must be a POSIX name the generator does not set, and not look like a secret: a secret in
the compose file is a secret in git, backups and `docker inspect`.
"""

import difflib
import re
import shlex
from pathlib import Path

from .errors import RecipeError
from .escape import text_problem

FLAGS_DIR = Path(__file__).resolve().parent / "flags"
ENV_NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# A part of the name (split at _) that ends in one of these: VLLM_API_KEY, HF_TOKEN, DB_PASSWORD,
# AWS_SECRET_ACCESS_KEY. Parts are used, not substrings, so TOKENIZERS_PARALLELISM stays allowed.
SECRET_PART_RE = re.compile(r".*(TOKEN|KEY|SECRET|PASSWORD|PASSWD|CREDENTIALS?)", re.I)
# Flags that carry a secret: --api-key, --admin-api-key, --hf-token, --ssl-keyfile-password (not
# --bucket-time-to-first-token: a token count).
SECRET_FLAG_RE = re.compile(r"--(?:[a-z0-9]+-)*(?:api-key|hf-token|auth-token|access-token|secret|password)", re.I)
# A negative number is a value, not a flag.
NUMBER_RE = re.compile(r"-\.?[0-9][0-9.e+-]*")
ONE_LINE = "give it on one line, without control characters"
SECRET_FIX = "put it in .env next to the compose file and pass it by name (--env NAME)"


def _version_key(version: str) -> tuple:
    return tuple(int(n) if n.isdigit() else n for n in re.split(r"[.+-]|(?<=\d)(?=post)", version))


def versions(engine: str) -> list[str]:
    """The engine versions with a flag list, oldest first."""
    found = [p.stem.split("-", 1)[1] for p in FLAGS_DIR.glob(f"{engine}-*.txt")
             if not p.name.endswith(".parsers.txt")]  # the registries beside each list
    return sorted(found, key=_version_key)


def known_flags(engine: str, version: str) -> frozenset[str]:
    path = FLAGS_DIR / f"{engine}-{version}.txt"
    return frozenset(line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip())


def flags_for(engine, image: str) -> tuple[str, frozenset[str], str]:
    """(version, its flags, a note saying which version judged --engine-args and why).

    The version the release catalog checks the image with (recipe/releases.py); for an image
    the catalog does not know, the newest release it has, since an unknown tag is most likely a
    recent one."""
    from .releases import NEWEST, lookup

    row = lookup(engine.name, image)
    version = (row or NEWEST[engine.name]).checked_with
    if not (FLAGS_DIR / f"{engine.name}-{version}.txt").is_file():
        raise RecipeError("--engine-args", engine.name, f"no flag list for {engine.label} {version} in "
                          f"{FLAGS_DIR.name}/", "run `make flags`, or leave --engine-args out")
    if row is not None:
        note = f"--engine-args were checked against the flags of {engine.label} {version}, what {image} is checked with"
    else:
        note = (f"--engine-args were checked against the flags of {engine.label} {version}, the newest "
                f"known; which version {image} holds is not known")
    return version, known_flags(engine.name, version), note


def split_args(option: str, values) -> tuple[str, ...]:
    """Each repeated --engine-args value, split as a POSIX shell would, in order."""
    out = []
    for value in values:
        if text_problem(value):
            raise RecipeError(option, value, text_problem(value), ONE_LINE)
        try:
            out += shlex.split(value)
        except ValueError as exc:
            raise RecipeError(option, shlex.quote(value), str(exc).lower(),
                              "balance the quotes, e.g. --engine-args '--foo \"a b\"'") from None
    return tuple(out)


def lift(args: tuple[str, ...], engine) -> tuple[tuple[str, ...], dict[str, int]]:
    """Take the engine's own spelling of a generator option out of the arguments, as that option:
    --engine-args "--max-num-seqs 256" on vLLM is --max-num-seqs 256, rendered in each engine's
    words and seen by sizing. Returns (the other arguments, {profile field: value})."""
    rest, lifted = [], {}
    i = 0
    while i < len(args):
        name, eq, value = args[i].partition("=")
        field = engine.lifted_flags.get(name)
        if field is None:
            rest.append(args[i])
            i += 1
            continue
        if not eq:
            value = args[i + 1] if i + 1 < len(args) else ""
            i += 1
        i += 1
        if not re.fullmatch(r"[0-9]+", value):
            raise RecipeError("--engine-args", f"{name} {value}".strip(), "needs a whole number",
                              f"give it as {option_for(field)} N")
        if field in lifted:
            raise RecipeError("--engine-args", name, "given twice", "give it once")
        lifted[field] = int(value)
    return tuple(rest), lifted


def option_for(field: str) -> str:
    return "--" + field.replace("_", "-")


def flag_names(args) -> list[str]:
    """The flag names among the arguments (--name=value gives --name), in order."""
    names = []
    for i, arg in enumerate(args):
        if arg.startswith("-") and not NUMBER_RE.fullmatch(arg):
            names.append(arg.split("=", 1)[0])
        elif i == 0:
            raise RecipeError("--engine-args", arg, "engine arguments start with a flag",
                              "give flags and their values, e.g. --engine-args \"--max-num-seqs 256\"")
    return names


def check_args(args, *, engine, version: str, known: frozenset[str], also: dict[str, str] | None = None) -> None:
    """Refuse a flag the generator renders itself (naming the option to use), one that carries
    a secret, and one this engine version does not have (naming the closest it has).

    engine: its spec (recipe/engines.py). With `dotted_flags` the engine also takes
    --json-flag.key value (vLLM's FlexibleArgumentParser), checked by its base name.
    also: more flags the generator renders (the image's release row) -> the fix to print.
    """
    label = f"{engine.label} {version}"
    for name in flag_names(args):
        base = name.split(".", 1)[0] if engine.dotted_flags and "." in name else name
        owner = engine.owner_of(base) or (also or {}).get(base)
        if owner:
            raise RecipeError("--engine-args", name, f"the generator renders {base} itself", owner)
        if SECRET_FLAG_RE.fullmatch(base):
            raise RecipeError("--engine-args", name, "a secret on the command line lands in the compose "
                              "file and in `docker inspect`", SECRET_FIX)
        if base not in known:
            # argparse takes an unambiguous prefix as the whole flag (SGLang: --tp is --tp-size).
            longer = [k for k in known if k.startswith(base)] if base.startswith("--") else []
            if len(longer) == 1:
                owner = engine.owner_of(longer[0]) or (also or {}).get(longer[0])
                if owner:
                    raise RecipeError("--engine-args", name, f"{label} reads it as {longer[0]}, which "
                                      "the generator renders itself", owner)
                raise RecipeError("--engine-args", name, f"{label} reads it as {longer[0]}",
                                  f"write {longer[0]} in full")
            close = difflib.get_close_matches(base, sorted(known), n=3, cutoff=0.6)
            also = f" (or {', '.join(close[1:])})" if close[1:] else ""
            fix = f"did you mean {close[0]}{also}?" if close else f"see recipe/flags/{engine.name}-{version}.txt for every flag it has"
            raise RecipeError("--engine-args", name, f"{label} has no such flag", fix)


def parse_env(values) -> tuple[str, ...]:
    """--env KEY=VALUE (or KEY alone: passed through by name from the shell or .env at `up`)."""
    seen = set()
    out = []
    for item in values:
        name, eq, value = item.partition("=")
        if not ENV_NAME_RE.fullmatch(name):
            raise RecipeError("--env", shlex.quote(name), "not an environment variable name",
                              "use KEY=VALUE with letters, digits and _ in KEY, not starting with a digit")
        if name in seen:
            raise RecipeError("--env", name, "given twice", "give each variable once")
        if text_problem(value):
            raise RecipeError("--env", name, f"its value {text_problem(value)}", ONE_LINE)
        seen.add(name)
        out.append(item)
    return tuple(out)


def check_env(env, *, owned: dict[str, str]) -> None:
    for item in env:
        name, eq, _ = item.partition("=")
        if name in owned:
            raise RecipeError("--env", name, "the generator sets it", owned[name])
        if eq and any(SECRET_PART_RE.fullmatch(part) for part in name.split("_") if part):
            # The value is never echoed: it is the secret.
            raise RecipeError("--env", f"{name}=...", "looks like a secret, and the compose file "
                              "would hold it", f"put it in .env next to the compose file and pass "
                              f"it by name: --env {name}")
