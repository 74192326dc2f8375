"""What to tell the operator on a FAIL: the flag to fix or the known engine bug it matches.

Kept in one place so that the checks stay readable and the tests can assert on the wording.
A failed exchange gets its hint from its `Kind` (`for_exchange`), never from the wording of a
detail, so rewording a message cannot change a hint.
Sources: ../shared/research/glm5-serving-facts.md sections 2-4 and 6.
"""

from .wire import Kind

REASONING_PARSER = (
    "start the engine with --reasoning-parser glm45 (reasoning must come back in "
    "`reasoning`/`reasoning_content`, not as <think> text in content)"
)
TOOL_PARSER = (
    "start the engine with --tool-call-parser glm47: GLM-4.7/GLM-5 write "
    "<tool_call>NAME<arg_key>..</arg_key><arg_value>..</arg_value></tool_call> with no newline "
    "after the name, which most releases' glm45 parser does not read; on vLLM also "
    "--enable-auto-tool-choice"
)
TOOLS_NEED_REASONING = (
    "no reasoning came back either, so the thinking text and the call were not split: start "
    "the engine with --reasoning-parser glm45 first (vLLM without it returns no tool_calls for a "
    "thinking answer), then check --tool-call-parser glm47 (and --enable-auto-tool-choice)"
)
AUTO_TOOL_CHOICE = (
    'vLLM refuses tool_choice "auto" without --enable-auto-tool-choice: start it with '
    "--enable-auto-tool-choice --tool-call-parser glm47"
)
WHOLE_ANSWER_IN_REASONING = (
    "matches sglang#37645: the chat template opens <think>, the model skipped thinking and "
    "never wrote </think>, so the glm45 reasoning parser put the whole answer in reasoning; "
    "update the engine or send chat_template_kwargs.enable_thinking=false for such requests"
)
THINKING_NOT_OFF = (
    "chat_template_kwargs.enable_thinking=false was ignored: the chat template does not honour "
    "it (zai-org/GLM-5#45: re-download the model's current chat template) or the engine's "
    "glm45 reasoning parser predates the thinking switch (update the engine)"
)
NO_REASONING = (
    "no reasoning came back: start the engine with --reasoning-parser glm45; if it is set, the "
    "chat template may default to thinking off (re-download the model's chat template)"
)
TOOL_CALL_IN_REASONING = (
    "the tool call stayed inside the reasoning: the reasoning parser did not see </think> "
    "(sglang#37645-like; check --reasoning-parser glm45 and update the engine)"
)
FINISH_REASON = (
    'finish_reason must be "tool_calls" when tool calls are returned, or agent loops stop; '
    "check --tool-call-parser glm47 and update the engine"
)
STREAM_ARGS_MALFORMED = (
    "matches vllm#34449: streamed GLM tool arguments lost or malformed with MTP speculative "
    "decoding or --stream-interval > 1 (fixed by vLLM PR #39253): update vLLM, or drop "
    "--speculative-config for tool-heavy use; see also vllm#39757"
)
STREAM_ARGS_RESENT = (
    "matches vllm#42167: the final streamed chunk re-sends the whole arguments, so the "
    "fragments do not concatenate to one JSON object (GLM + MTP; see also vllm#39615, #34449); "
    "update vLLM or drop --speculative-config"
)
STREAM_WRONG_NAME = (
    "matches vllm#39757 (GLM-5 streaming tool calls with wrong name/params): update vLLM "
    "(parser engine, PR #45915) or drop --speculative-config; check --tool-call-parser glm47"
)
STREAM_DISAGREES = (
    "streamed and non-streamed answers disagree: the streaming path of the parser is broken "
    "(vllm#34449/#39757 with MTP); update the engine or drop speculative decoding"
)
TOOLS_WITHOUT_TOOLS = (
    "the tool parser fired on a request that offered no tools: engine bug; update the engine "
    "and check --tool-call-parser glm47"
)
ROUND_TRIP = (
    "the tool result did not lead to an answer: the chat template may not render `tool` "
    "messages (zai-org/GLM-5#45: re-download the model's chat template) or the engine is old"
)
EMPTY_ANSWER = (
    "the model returned no text: read the engine log; if finish_reason is \"length\", the "
    "answer hit max_tokens; otherwise check the model's chat template"
)
REFUSED = (
    "the engine refused this request: its message says why (a missing flag, or a limit such "
    "as --max-model-len / --context-length)"
)
SERVER_ERROR = "the engine failed on this request: read its log (docker compose logs engine)"
NOT_JSON = (
    "the answer is not the engine's JSON: is --base-url the engine's root (e.g. "
    "http://engine:8000), not a proxy or a web page?"
)
TIMEOUT = (
    "no answer within --timeout: the engine is stuck or overloaded; read its log, "
    "or raise --timeout / SMOKE_TIMEOUT"
)
DEADLINE = (
    "the answer began but was not complete within --timeout: the engine (or a proxy in "
    "between) sends it too slowly or never ends it; read the engine log, or raise --timeout"
)
TOO_LARGE = (
    "the answer passed a size cap of the sidecar (named in the detail): no engine answers these "
    "small requests with that much; is --base-url the engine, not a proxy or another service?"
)
BAD_ENCODING = (
    "the answer is not valid UTF-8: the engine or a proxy in between corrupted it; read the "
    "engine log, and check that --base-url is the engine itself"
)
CONNECTION = (
    "the connection failed or broke: is the engine running and --base-url right (e.g. "
    "http://engine:8000)? read its log (docker compose logs engine)"
)
REDIRECT = (
    "--base-url answered with a redirect, which the sidecar never follows (it would judge "
    "another server): give the engine's own URL, e.g. http://engine:8000"
)
PROTOCOL = "the answer is not HTTP/1.x: is --base-url the engine's HTTP port?"
TRUNCATED = (
    "the stream broke off before `data: [DONE]`: the engine or a proxy in between cut it; "
    "read the engine log (docker compose logs engine)"
)
MODEL_NAME = (
    "--model must equal the engine's --served-model-name (e.g. glm-5-fp8); /v1/models lists "
    "what it serves"
)
API_KEY = (
    "the engine wants an API key: give it to the sidecar with --api-key-file / "
    "SMOKE_API_KEY_FILE (or --api-key / SMOKE_API_KEY); a gateway's keys are in its secret file"
)
NOT_READY = (
    "the engine did not become ready before --deadline: read its log (docker compose logs "
    "engine); a cold GLM-5 load takes 10-40 min, raise --deadline / SMOKE_DEADLINE if needed"
)

# --- the second tier (smoke/agentic.py): what agents hit a step further in ---------------
PARALLEL_TOOLS = (
    "matches zai-org/GLM-5#58: parallel tool calls break with MTP speculative decoding on vLLM "
    'v0.21 ("Invalid tool parameters" in most agent turns, fine with MTP off): render with '
    "--speculative off or use a newer engine image; check --tool-call-parser glm47"
)
PARALLEL_STREAM = (
    "streamed parallel calls differ from the non-streamed ones: zai-org/GLM-5#58 (MTP + "
    "parallel tools on vLLM v0.21) or sglang#35564 (glm47 streaming differs from one-shot "
    "parsing); render with --speculative off or use a newer engine image"
)
TOOL_RESULT_LIST = (
    "the chat template got the tool result as a list of content parts and printed its repr: "
    "start vLLM with --chat-template-content-format string (recipes#327, vllm#39614)"
)
TOOL_RESULT_MISSING = (
    "the tool result is not in the prompt the model sees: start vLLM with "
    "--chat-template-content-format string (recipes#327, vllm#39614: given a list, GLM-5's "
    "template prints a repr and GLM-5.1's prints nothing); if it is set, the chat template "
    "does not render `tool` messages (zai-org/GLM-5#45: re-download the model's template)"
)
TRUNCATED_LEAK = (
    "thinking cut off by max_tokens came back as content: start the engine with "
    "--reasoning-parser glm45; if it is set, this is vllm#48201 (reasoning that runs out of "
    "tokens is mis-split): update vLLM, and give clients room (max_tokens, thinking_token_budget)"
)
TRUNCATED_EMPTY = (
    "matches vllm#48201: the thinking used up max_tokens and the answer is empty with no "
    "reasoning to show why: update vLLM, check --reasoning-parser glm45, and give clients room "
    "(a larger max_tokens, or thinking_token_budget on vLLM)"
)
MAX_TOKENS_IGNORED = (
    "the engine wrote more tokens than max_tokens asked for: engine bug; update the engine"
)
FORCED_CALL = (
    'forced tool choice ("required" or a named function) takes another path than auto: the '
    "engine constrains the answer with structured output (a JSON schema on older vLLM, glm47's "
    "structural tag on vLLM 0.32 and SGLang 0.5.23) and parses it apart from auto calls; "
    "vLLM 0.32 reads glm47's forced calls only with --enable-auto-tool-choice. Check "
    "--tool-call-parser glm47 --enable-auto-tool-choice, then update the engine"
)
PROMPT_ENDPOINT = (
    "the engine's /tokenize + /detokenize failed on a chat conversation: read its log (vLLM "
    "and SGLang serve both by default)"
)
SPEC_COLLAPSED = (
    "speculative decoding runs but its drafts are mostly rejected: answers stay right, the "
    "server gets several times slower. Known regressions: vllm#34385 (GLM-5 MTP NaN logits, 0% "
    "acceptance; fixed by that PR in Feb 2026), vLLM PR #45895 (indexer init and MTP top-k "
    "sharing; low acceptance before it, June 2026), vllm#52833 (ROCm MI355X: 0% unless "
    "VLLM_ROCM_USE_AITER_FP8BMM=0 and VLLM_ROCM_USE_AITER_FP4BMM=0). Update the engine image, "
    "or render with --speculative off"
)
AUTH_OPEN = (
    "the API answers without a valid key: put the gateway in front (generator.py --gateway) "
    "and point the sidecar at it; the engine's own --api-key does not cover every route"
)
MANAGEMENT_ROUTE = (
    "a management route reaches the engine through the gateway: vLLM's --api-key leaves "
    "/tokenize, /collective_rpc and others open (vllm PR #29922); the gateway must pass only "
    "/v1/chat/completions, /v1/completions, /v1/models and /health, matched after decoding"
)

BY_KIND = {
    Kind.TIMEOUT: TIMEOUT,
    Kind.DEADLINE: DEADLINE,
    Kind.TOO_LARGE: TOO_LARGE,
    Kind.TRUNCATED: TRUNCATED,
    Kind.NOT_JSON: NOT_JSON,
    Kind.BAD_ENCODING: BAD_ENCODING,
    Kind.CONNECTION: CONNECTION,
    Kind.REDIRECT: REDIRECT,
    Kind.PROTOCOL: PROTOCOL,
}


def for_status(status: int, body: str) -> str:
    """An HTTP status with the engine's own error text (its words, not ours, are read here)."""
    low = body.lower()
    if "auto-tool-choice" in low or "auto tool choice" in low or '"auto" tool choice' in low:
        return AUTO_TOOL_CHOICE
    if status in (401, 403):
        return API_KEY
    if status == 404 and "model" in low:
        return MODEL_NAME
    if status == 400 and "model" in low and ("not exist" in low or "not found" in low):
        return MODEL_NAME
    return REFUSED if 400 <= status < 500 else SERVER_ERROR


def for_exchange(kind: Kind, status: int | None, body: str) -> str | None:
    if kind is Kind.OK:
        return None
    if kind is Kind.HTTP:
        return for_status(status or 0, body)
    return BY_KIND[kind]
