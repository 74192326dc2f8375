"""Build the tiny GLM-format test model, offline, into a Hugging Face cache folder.

    $CACHE/vllm-venv/bin/python scripts/tinymodel.py --hf-home DIR

With ``HF_HOME=DIR HF_HUB_OFFLINE=1`` vLLM then serves it by repo id ``glm5-compose/tiny-glm5``
(``DIR/hub/models--glm5-compose--tiny-glm5/{blobs,snapshots/<rev>,refs/main}``, the layout
``huggingface_hub`` writes; the rehearsal mounts DIR at /root/.cache/huggingface).

How it works. A Llama with one layer whose MLP is zero, an identity embedding and a hand-set
``lm_head`` is a bigram model: the next token is a fixed function of the current one, so
greedy decoding (and sampling: the logit margins are huge) follows a fixed token chain.
A bigram alone cannot give each request kind its own reply, because every reply passes the
same ``</think>`` token and must continue differently after it. So the chat template puts a
distinct *kind marker* token just before the GLM-5 generation prompt
(``<|assistant|><marker><think>``, or ``...</think>`` with thinking off), and the single
attention head copies that marker into a few spare residual dimensions of every later
position (constant query, key only on markers, RoPE frequency ~0 on the dimension used).
``lm_head`` reads token + kind: a token shared by several replies gets a small per-kind boost
on the right successor. The generated text has the real GLM-5 shape:

    chat          (no tools, thinking on)    reasoning</think>answer
    nothink       (no tools, thinking off)   answer
    tool          (tools, user last)         Let me check the weather.</think><tool_call>get_weather<arg_key>city</arg_key><arg_value>Tokyo</arg_value></tool_call>
    result        (last message is a tool result, thinking on)   reasoning</think>It is sunny in Tokyo.
    parallel      (tools, the two-city question)   reasoning</think><tool_call>...Tokyo...</tool_call><tool_call>...Paris...</tool_call>
    truncated     (no tools, the long-thought question)   ~40 tokens of reasoning</think>answer
    tool_nothink  (tools, user last, thinking off)   <tool_call>get_weather...</tool_call>  (a direct call, no reasoning)
    result_nothink(tool result last, thinking off)   It is sunny in Tokyo.

The kinds and their questions are the sidecar's (smoke/kinds.py); a forced tool choice
(`required`, `named`) is a `tool` request to this model, which cannot see tool_choice.

Each reply ends with GLM's stop tokens (``<|user|>`` after an answer, ``<|observation|>``
after a tool call), listed in generation_config.json. The script checks every kind with
transformers' greedy ``generate`` on the saved bf16 files and fails loudly on a mismatch.
Idempotent: a stamp holding the hash of this file skips the rebuild.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from smoke import kinds  # noqa: E402  (standard library only: imports from the vLLM venv)

REPO_ID = "glm5-compose/tiny-glm5"
REPO_FOLDER = "models--" + REPO_ID.replace("/", "--")

# GLM control tokens: special (dropped by skip_special_tokens), as in GLM-4.5/4.7/5.
SPECIAL = ["<|endoftext|>", "[gMASK]", "<sop>", "<|system|>", "<|user|>", "<|assistant|>",
           "<|observation|>"]
# GLM format tokens: single tokens, but *not* special, so they survive decoding and vLLM's
# glm45 reasoning / glm47 tool parsers see them (by text and by token id).
FORMAT = ["<think>", "</think>", "<tool_call>", "</tool_call>", "<arg_key>", "</arg_key>",
          "<arg_value>", "</arg_value>", "<tool_response>", "</tool_response>"]

ANSWER_END = "<|user|>"
CALL_END = "<|observation|>"
CALL = ("<tool_call>get_weather<arg_key>city</arg_key><arg_value>{}</arg_value>"
        "</tool_call>")
# A bigram cannot write two calls: after the first </tool_call> it must go on, after the second
# stop, and <arg_value> must lead to Tokyo once and to Paris once. So the reply emits a *phase
# marker* between them (a special token: it vanishes from the decoded text), which the
# attention head weighs above the kind marker; from there on the model follows the phase.
PARALLEL_2 = "<|tiny_parallel_2|>"
TOKYO, PARIS = (CALL.format(c) for c in kinds.PARALLEL_CITIES)

# kind -> (marker token, thinking, scripted continuation without its stop token, stop token).
# The kinds are smoke/kinds.py's; the template cannot see tool_choice, so `required` and
# `named` requests are `tool` requests here: on vLLM 0.32 the glm47 parser reads forced calls
# from this same native text (Glm47MoeModelToolParser.supports_required_and_named is False,
# so they go through its auto path), and the CPU build ignores the structural tag that would
# force them on a GPU.
KINDS = {
    kinds.CHAT: ("<|tiny_chat|>", True,
                 "The user wants a short reply</think>Hello from the tiny GLM-5 test model.",
                 ANSWER_END),
    kinds.NOTHINK: ("<|tiny_nothink|>", False, "Hi! This answer comes without thinking.",
                    ANSWER_END),
    kinds.TOOL: ("<|tiny_tool|>", True, "Let me check the weather.</think>" + TOKYO, CALL_END),
    kinds.RESULT: ("<|tiny_result|>", True,
                   "The tool reports sun</think>It is sunny in Tokyo.", ANSWER_END),
    kinds.PARALLEL: ("<|tiny_parallel|>", True,
                     "Two cities, two calls.</think>" + TOKYO + PARALLEL_2 + PARIS, CALL_END),
    # Longer than the sidecar's max_tokens for this kind, so the answer is cut while thinking.
    kinds.TRUNCATED: ("<|tiny_truncated|>", True,
                      "Both weigh exactly one kilogram, because mass does not depend on "
                      "material: iron feels heavier only since it packs densely into less "
                      "volume; so neither wins</think>Equal weights.", ANSWER_END),
    "tool_nothink": ("<|tiny_tool_nothink|>", False, TOKYO, CALL_END),
    "result_nothink": ("<|tiny_result_nothink|>", False, "It is sunny in Tokyo.", ANSWER_END),
}
# Phase markers: like kind markers, but written by the model; kind name -> token.
PHASES = {"parallel_2": PARALLEL_2}
MARKERS = [m for m, _, _, _ in KINDS.values()] + list(PHASES.values())
PHASE_SCORE = 2.0  # a phase marker's attention score, relative to a kind marker's

WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Get the current weather for a city",
        "parameters": {"type": "object", "required": ["city"],
                       "properties": {"city": {"type": "string"}}},
    },
}

# GLM-4.7/5-like template. The generation prompt ends exactly as GLM-5's does
# (`<|assistant|><think>`, or `<|assistant|></think>` when enable_thinking is false), with
# the tiny model's kind marker in front of the last token.
CHAT_TEMPLATE = r"""[gMASK]<sop>
{%- set thinking = not (enable_thinking is defined and not enable_thinking) -%}
{%- if tools -%}
<|system|>
# Tools

You may call one or more functions to assist with the user query.

You are provided with function signatures within <tools></tools> XML tags:
<tools>
{% for tool in tools %}{{ tool | tojson }}
{% endfor %}</tools>

For each function call, output the function name and arguments within the following XML format:
<tool_call>{function-name}<arg_key>{arg-key-1}</arg_key><arg_value>{arg-value-1}</arg_value>...</tool_call>
{%- endif -%}
{%- macro text(content) -%}
{%- if content is string -%}{{ content }}
{%- elif content -%}{% for part in content %}{% if part.text is defined %}{{ part.text }}{% endif %}{% endfor %}
{%- endif -%}
{%- endmacro -%}
{%- for m in messages -%}
{%- if m.role == 'system' -%}<|system|>{{ text(m.content) }}
{%- elif m.role == 'user' -%}<|user|>{{ text(m.content) }}
{%- elif m.role == 'assistant' -%}<|assistant|>
{%- set r = m.reasoning if m.reasoning is defined and m.reasoning else (m.reasoning_content if m.reasoning_content is defined and m.reasoning_content else '') -%}
{%- if r %}<think>{{ r }}</think>{% else %}</think>{% endif -%}
{{ text(m.content) }}
{%- if m.tool_calls is defined and m.tool_calls -%}
{%- for tc in m.tool_calls -%}
{%- set f = tc.function if tc.function is defined else tc -%}
<tool_call>{{ f.name }}
{%- if f.arguments is mapping -%}
{%- for k, v in f.arguments.items() %}<arg_key>{{ k }}</arg_key><arg_value>{{ v if v is string else v | tojson }}</arg_value>{% endfor -%}
{%- endif -%}
</tool_call>
{%- endfor -%}
{%- endif -%}
{%- elif m.role == 'tool' -%}
{%- if loop.first or messages[loop.index0 - 1].role != 'tool' %}<|observation|>{% endif -%}
<tool_response>{{ text(m.content) }}</tool_response>
{%- endif -%}
{%- endfor -%}
{%- if add_generation_prompt -%}
{%- set last = messages[-1].role if messages else 'user' -%}
{%- set ns = namespace(q='') -%}
{%- for m in messages -%}{%- if m.role == 'user' -%}{%- set ns.q = text(m.content) -%}{%- endif -%}{%- endfor -%}
{%- if last == 'tool' -%}{%- set kind = 'result' -%}
{%- elif tools -%}{%- set kind = 'parallel' if ns.q == PARALLEL_QUESTION else 'tool' -%}
{%- elif not thinking -%}{%- set kind = 'nothink' -%}
{%- else -%}{%- set kind = 'truncated' if ns.q == TRUNCATED_QUESTION else 'chat' -%}{%- endif -%}
{%- if not thinking and kind != 'nothink' -%}{%- set kind = kind ~ '_nothink' -%}{%- endif -%}
<|assistant|><|tiny_{{ kind }}|>{{ '<think>' if thinking else '</think>' }}
{%- endif -%}"""
# The kind rules of smoke.kinds.kind_of, in the template: the questions are the sidecar's.
CHAT_TEMPLATE = (CHAT_TEMPLATE
                 .replace("PARALLEL_QUESTION", json.dumps(kinds.PARALLEL_QUESTION))
                 .replace("TRUNCATED_QUESTION", json.dumps(kinds.TRUNCATED_QUESTION)))

# Words the BPE is trained on, so each word of a reply is one token.
CORPUS = [text for _, _, text, _ in KINDS.values()] + [
    kinds.CHAT_QUESTION, kinds.TOOL_QUESTION, kinds.PARALLEL_QUESTION, kinds.TRUNCATED_QUESTION,
    "get_weather city Tokyo Hello hello What is the weather in Tokyo? Say hi.",
    "You may call one or more functions to assist with the user query.",
    "You are provided with function signatures within XML tags: tools",
    "For each function call, output the function name and arguments within the following "
    "XML format: function-name arg-key-1 arg-value-1",
    '{"type": "function", "function": {"name": "get_weather", "description": "Get the '
    'current weather for a city", "parameters": {"type": "object", "required": ["city"], '
    '"properties": {"city": {"type": "string"}}}}} sunny, 22 C',
]

BASE = 100.0    # logit of a token's successor
BOOST = 30.0    # extra logit for the kind's successor when replies share a token
MARGIN = 20.0   # smallest accepted gap between the right next token and any other


def log(msg: str) -> None:
    print(f"tinymodel: {msg}", flush=True)


def source_hash() -> str:
    """This script and the kinds it scripts: a change to either rebuilds the model."""
    h = hashlib.sha256(Path(__file__).read_bytes())
    h.update(Path(kinds.__file__).read_bytes())
    return h.hexdigest()


def build_tokenizer():
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from tokenizers import AddedToken

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=2000, min_frequency=1, show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    plain = [t for t in CORPUS]
    for s in SPECIAL + FORMAT + MARKERS:
        plain = [p.replace(s, " ") for p in plain]
    tok.train_from_iterator(plain, trainer)
    tok.add_special_tokens([AddedToken(s, special=True, normalized=False) for s in SPECIAL])
    tok.add_tokens([AddedToken(s, special=False, normalized=False) for s in FORMAT])
    tok.add_special_tokens([AddedToken(s, special=True, normalized=False) for s in MARKERS])
    return tok


def transitions(tok) -> dict[int, dict[str, int]]:
    """token id -> {kind or phase: next token id}, over every scripted reply."""
    table: dict[int, dict[str, int]] = {}
    phase_of = {tok.token_to_id(m): name for name, m in PHASES.items()}
    for kind, (marker, thinking, text, stop) in KINDS.items():
        ids = tok.encode((("<think>" if thinking else "</think>") + text + stop),
                         add_special_tokens=False).ids
        assert tok.decode(ids[1:-1], skip_special_tokens=False) == text, (kind, ids)
        phase = kind
        for cur, nxt in zip(ids, ids[1:]):
            phase = phase_of.get(cur, phase)  # the head sees a phase marker from itself on
            seen = table.setdefault(cur, {})
            if phase in seen and seen[phase] != nxt:
                sys.exit(f"tinymodel: reply {phase!r} repeats token {tok.id_to_token(cur)!r} "
                         "with two different successors; reword it")
            seen[phase] = nxt
    return table


def build_weights(tok, table, layers: int = 1):
    import torch

    vocab = tok.get_vocab_size()
    names = list(KINDS) + list(PHASES)
    hidden = math.ceil((vocab + len(names)) / 64) * 64
    kind_dim = {k: hidden - len(names) + i for i, k in enumerate(names)}
    heads, head_dim = hidden // 64, 64
    markers = {**{k: v[0] for k, v in KINDS.items()}, **PHASES}
    ids = {k: tok.token_to_id(markers[k]) for k in names}

    sd = {}
    sd["model.embed_tokens.weight"] = torch.eye(vocab, hidden)
    p = "model.layers.0."
    sd[p + "input_layernorm.weight"] = torch.full((hidden,), 1 / math.sqrt(hidden))
    # Attention head 0 looks only at kind and phase markers: query constant, key non-zero
    # only on markers, both on dimension 31 whose RoPE frequency is theta^(-62/64) ~ 0.
    q = torch.zeros(heads * head_dim, hidden)
    k = torch.zeros(head_dim, hidden)
    v = torch.zeros(head_dim, hidden)
    o = torch.zeros(hidden, heads * head_dim)
    qk = math.sqrt(40.0 * math.sqrt(head_dim))  # score 40 on a marker, 0 elsewhere
    q[31, :] = qk
    for i, kind in enumerate(names):
        # A phase marker outscores the kind marker (score 80 vs 40): from it on, it decides.
        k[31, ids[kind]] = qk * (PHASE_SCORE if kind in PHASES else 1.0)
        v[i, ids[kind]] = 1.0
        o[kind_dim[kind], i] = 1.0
    sd[p + "self_attn.q_proj.weight"] = q
    sd[p + "self_attn.k_proj.weight"] = k
    sd[p + "self_attn.v_proj.weight"] = v
    sd[p + "self_attn.o_proj.weight"] = o
    sd[p + "post_attention_layernorm.weight"] = torch.ones(hidden)
    inter = 128
    sd[p + "mlp.gate_proj.weight"] = torch.zeros(inter, hidden)
    sd[p + "mlp.up_proj.weight"] = torch.zeros(inter, hidden)
    sd[p + "mlp.down_proj.weight"] = torch.zeros(hidden, inter)
    # --layers N: layers 1.. add nothing (attention output and MLP zero), so the replies are the
    # same; they let the two-host rehearsal split the model into pipeline stages, one per host.
    for extra in range(1, layers):
        for name in [n for n in sd if n.startswith(p)]:
            t = sd[name]
            sd[name.replace("layers.0.", f"layers.{extra}.")] = t.clone() if "norm" in name else torch.zeros_like(t)
    # Residual after the layer: e_token + e_kind (norm 2/hidden), scaled back to that.
    sd["model.norm.weight"] = torch.full((hidden,), math.sqrt(2 / hidden))

    head = torch.zeros(vocab, hidden)
    for cur, by_kind in table.items():
        for nxt in set(by_kind.values()):
            head[nxt, cur] = BASE
        if len(set(by_kind.values())) > 1:
            for kind, nxt in by_kind.items():
                head[nxt, kind_dim[kind]] = BOOST
    # Check every step of every reply on the ideal hidden state, before writing anything.
    for cur, by_kind in table.items():
        for kind, nxt in by_kind.items():
            logits = head[:, cur] + head[:, kind_dim[kind]]
            best = logits.clone()
            best[nxt] = -1e9
            if logits[nxt] - best.max() < MARGIN:
                sys.exit(f"tinymodel: after {tok.id_to_token(cur)!r} reply {kind!r} is "
                         f"ambiguous with {tok.id_to_token(int(best.argmax()))!r}; reword it")
    sd["lm_head.weight"] = head

    config = {
        "architectures": ["LlamaForCausalLM"],
        "model_type": "llama",
        "vocab_size": vocab,
        "hidden_size": hidden,
        "intermediate_size": inter,
        "num_hidden_layers": layers,
        "num_attention_heads": heads,
        "num_key_value_heads": 1,
        "head_dim": head_dim,
        "hidden_act": "silu",
        "max_position_embeddings": 8192,  # room for the seed guide's max_tokens=4096 snippets
        "rms_norm_eps": 1e-6,
        "rope_theta": 1e10,
        "rope_scaling": None,
        "attention_bias": False,
        "mlp_bias": False,
        "tie_word_embeddings": False,
        "bos_token_id": None,
        "eos_token_id": [tok.token_to_id(t) for t in ("<|endoftext|>", ANSWER_END, CALL_END)],
        "pad_token_id": tok.token_to_id("<|endoftext|>"),
        "torch_dtype": "bfloat16",
    }
    return {n: t.to(torch.bfloat16).contiguous() for n, t in sd.items()}, config


def write_files(out: Path, tok, weights, config) -> None:
    from safetensors.torch import save_file

    save_file(weights, str(out / "model.safetensors"), metadata={"format": "pt"})
    (out / "config.json").write_text(json.dumps(config, indent=2) + "\n")
    gen = {"eos_token_id": config["eos_token_id"], "pad_token_id": config["pad_token_id"]}
    (out / "generation_config.json").write_text(json.dumps(gen, indent=2) + "\n")
    tok.save(str(out / "tokenizer.json"))
    added = {str(tok.token_to_id(s)): {"content": s, "lstrip": False, "rstrip": False,
                                       "normalized": False, "single_word": False,
                                       "special": s not in FORMAT}
             for s in SPECIAL + FORMAT + MARKERS}
    tc = {
        "tokenizer_class": "PreTrainedTokenizerFast",
        "model_max_length": 4096,
        "eos_token": "<|endoftext|>",
        "pad_token": "<|endoftext|>",
        "clean_up_tokenization_spaces": False,
        "added_tokens_decoder": added,
        "additional_special_tokens": SPECIAL[1:] + MARKERS,
        "chat_template": CHAT_TEMPLATE,
    }
    (out / "tokenizer_config.json").write_text(json.dumps(tc, indent=2) + "\n")
    (out / "chat_template.jinja").write_text(CHAT_TEMPLATE)
    (out / "special_tokens_map.json").write_text(json.dumps(
        {"eos_token": "<|endoftext|>", "pad_token": "<|endoftext|>"}, indent=2) + "\n")
    (out / "README.md").write_text(
        "# tiny-glm5\n\nA scripted test model built by glm5-compose `scripts/tinymodel.py`. "
        "It only speaks fixed GLM-5-format replies; see that script.\n")


def requests_and_expectations():
    user = {"role": "user", "content": kinds.TOOL_QUESTION}
    call = {"role": "assistant", "content": "", "tool_calls": [{
        "id": "call_1", "type": "function",
        "function": {"name": "get_weather", "arguments": {"city": "Tokyo"}}}]}
    result = {"role": "tool", "tool_call_id": "call_1", "content": "sunny, 22 C"}
    hello = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}]
    two = [{"role": "user", "content": kinds.PARALLEL_QUESTION}]
    long = [{"role": "user", "content": kinds.TRUNCATED_QUESTION}]
    tools = [WEATHER_TOOL]
    return [
        (kinds.CHAT, hello, None, True),
        (kinds.NOTHINK, hello, None, False),
        (kinds.TOOL, [user], tools, True),
        (kinds.RESULT, [user, call, result], tools, True),
        (kinds.PARALLEL, two, tools, True),
        (kinds.TRUNCATED, long, None, True),
        ("tool_nothink", [user], tools, False),
        ("result_nothink", [user, call, result], tools, False),
    ]


def check(snapshot: Path) -> None:
    """Greedy-decode every request kind from the saved files (bf16), as vLLM will."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(snapshot))
    model = AutoModelForCausalLM.from_pretrained(str(snapshot), dtype=torch.bfloat16)
    model.eval()
    failures = []
    for kind, messages, tools, thinking in requests_and_expectations():
        prompt = tokenizer.apply_chat_template(messages, tools=tools, tokenize=False,
                                               add_generation_prompt=True,
                                               enable_thinking=thinking)
        ids = tokenizer(prompt, add_special_tokens=False, return_tensors="pt").input_ids
        with torch.no_grad():
            out = model.generate(ids, attention_mask=torch.ones_like(ids), do_sample=False,
                                 max_new_tokens=96, eos_token_id=model.config.eos_token_id,
                                 pad_token_id=model.config.pad_token_id)
        new = out[0, ids.shape[1]:].tolist()
        text = tokenizer.decode(new, skip_special_tokens=True)
        want = KINDS[kind][2]
        for marker in PHASES.values():  # special: not in the decoded text
            want = want.replace(marker, "")
        ok = text == want and tokenizer.convert_ids_to_tokens(new[-1]) == KINDS[kind][3]
        log(f"  {kind:15s} {len(new):2d} tokens {'ok ' if ok else 'BAD'} {text!r}")
        if not ok:
            failures.append(f"{kind}: got {text!r} ({len(new)} tokens), want {want!r}")
    if failures:
        sys.exit("tinymodel: the model does not say what it should:\n  " +
                 "\n  ".join(failures))


def install(staging: Path, hub: Path) -> str:
    """Move files from staging into the HF cache layout; return the revision."""
    files = sorted(p for p in staging.iterdir() if p.is_file())
    digests = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in files}
    rev = hashlib.sha1(json.dumps(digests, sort_keys=True).encode()).hexdigest()
    repo = hub / REPO_FOLDER
    tmp = Path(tempfile.mkdtemp(prefix=REPO_FOLDER + ".", dir=hub))
    (tmp / "blobs").mkdir()
    snap = tmp / "snapshots" / rev
    snap.mkdir(parents=True)
    (tmp / "refs").mkdir()
    for p in files:
        blob = tmp / "blobs" / digests[p.name]
        shutil.copyfile(p, blob)
        os.symlink(os.path.join("..", "..", "blobs", digests[p.name]), snap / p.name)
    (tmp / "refs" / "main").write_text(rev)
    # mkdtemp makes the folder 0700: readable like a cache huggingface_hub writes (0755), so
    # the rehearsal's non-root engine can read it through the bind mount.
    tmp.chmod(0o755)
    if repo.exists():
        shutil.rmtree(repo)
    tmp.rename(repo)
    return rev


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--hf-home", required=True, type=Path,
                    help="HF_HOME folder to build into (the model lands in DIR/hub)")
    ap.add_argument("--force", action="store_true", help="rebuild even if up to date")
    ap.add_argument("--layers", type=int, default=1, choices=range(1, 9), metavar="N",
                    help="transformer layers (default 1); the ones after the first add nothing: "
                         "2 lets the two-host rehearsal run two pipeline stages")
    args = ap.parse_args()

    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    hub = args.hf_home.resolve() / "hub"
    # The stamp sits beside hub/, not in it, so huggingface_hub's cache scan never sees it.
    stamp = args.hf_home.resolve() / ".tiny-glm5.stamp"
    want = source_hash() + (f" layers={args.layers}" if args.layers > 1 else "")
    repo = hub / REPO_FOLDER
    if (not args.force and stamp.exists() and stamp.read_text().strip() == want
            and (repo / "refs" / "main").exists()):
        log(f"{REPO_ID} in {hub} is up to date")
        return 0

    start = time.monotonic()
    hub.mkdir(parents=True, exist_ok=True)
    stamp.unlink(missing_ok=True)
    tok = build_tokenizer()
    table = transitions(tok)
    weights, config = build_weights(tok, table, args.layers)
    log(f"vocab {config['vocab_size']}, hidden {config['hidden_size']}, "
        f"{sum(t.numel() for t in weights.values())} parameters")
    with tempfile.TemporaryDirectory(prefix="tiny-glm5.") as staging:
        write_files(Path(staging), tok, weights, config)
        rev = install(Path(staging), hub)
    snapshot = repo / "snapshots" / rev
    log(f"checking every request kind with transformers generate ({snapshot})")
    check(snapshot)
    stamp.write_text(want + "\n")
    log(f"{REPO_ID}@{rev[:12]} ready in {time.monotonic() - start:.1f}s "
        f"(HF_HOME={args.hf_home.resolve()})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
