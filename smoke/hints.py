"""What to tell the operator on a FAIL: the flag to fix or the known engine bug it matches.

Kept in one place so that the checks stay readable and the tests can assert on the wording.
Sources: ../shared/research/glm5-serving-facts.md sections 2-4 and 6.
"""

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
    "no complete answer within --timeout: the engine is stuck or overloaded; read its log, "
    "or raise --timeout / SMOKE_TIMEOUT"
)
TRUNCATED = (
    "the stream broke off before `data: [DONE]`: the engine or a proxy in between cut it; "
    "read the engine log (docker compose logs engine)"
)
MODEL_NAME = (
    "--model must equal the engine's --served-model-name (e.g. glm-5-fp8); /v1/models lists "
    "what it serves"
)
API_KEY = "the engine wants an API key: pass the engine's --api-key as --api-key / SMOKE_API_KEY"
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
