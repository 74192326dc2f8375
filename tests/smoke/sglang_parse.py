"""What SGLang's OpenAI server answers for given raw GLM output, computed by SGLang's own parsers.

Runs INSIDE the SGLang venv (`$CACHE/sglang-venv/bin/python`, see scripts/sglang-env.sh), not
in the project's venv. SGLang cannot serve on CPU, and that venv lacks fastapi/torchvision, so
`serving_chat.py` itself cannot be imported; what it does between the engine's text and the
JSON is mirrored below in a few lines, each naming the SGLang 0.5.23 function it mirrors. All
parsing is SGLang's: `ReasoningParser`, `FunctionCallParser` (and their detectors), the
request model `ChatCompletionRequest`, and the chat-template detection that sets
`force_reasoning`.

stdin:  {"tool_call_parser": "glm47", "reasoning_parser": "glm45", "tools": [...],
         "requests": {kind: {"raw": "<GLM text>", "thinking": bool, "tools": bool,
                             "tool_choice": "auto" | "required" | {named}, "finish": "stop" | "length"}}}
stdout: {"sglang": version, "template": {...}, "kinds": {kind: {"non_stream": {...},
         "stream": {"deltas": [...], "finish_reason": ...}}}}
  non_stream: {"reasoning_content", "content", "tool_calls": [{"name", "arguments"}],
               "finish_reason"}
  stream deltas, in order: {"reasoning_content": s} | {"content": s} |
               {"tool_call": {"index", "name" (first piece only, else null), "arguments"}}
"""

from __future__ import annotations

import json
import re
import sys
import types

# template_detection imports muse_spark_hook only for server-args resolution (never reached
# by detect_reasoning_pattern); its import chain needs torchvision, absent from this venv.
_hook = types.ModuleType("sglang.srt.arg_groups.muse_spark_hook")
_hook.muse_spark_chat_template_default = lambda server_args: None
sys.modules.setdefault(_hook.__name__, _hook)

import sglang  # noqa: E402
from sglang.srt.entrypoints.openai.protocol import ChatCompletionRequest, ToolChoice  # noqa: E402
from sglang.srt.function_call.function_call_parser import FunctionCallParser  # noqa: E402
from sglang.srt.parser.reasoning_parser import ReasoningParser  # noqa: E402
from sglang.srt.parser.response_template import ResponseTemplateReasoningDetector  # noqa: E402
from sglang.srt.parser.template_detection import detect_reasoning_pattern  # noqa: E402

# The parts of the GLM-4.7/GLM-5 chat template (HF chat_template.jinja) that SGLang's template
# detection reads: the family header, the tool-call rendering and the generation prompt, which
# opens <think> unless enable_thinking is false (so thinking output has no opening tag).
GLM5_TEMPLATE = """[gMASK]<sop>
{%- for tc in m.tool_calls -%}{{- '<tool_call>' + tc.name -}}
{%- for k, v in tc.arguments.items() -%}<arg_key>{{ k }}</arg_key><arg_value>{{ v }}</arg_value>
{%- endfor -%}</tool_call>{%- endfor -%}
{%- if add_generation_prompt -%}
    <|assistant|>{{- '</think>' if (enable_thinking is defined and not enable_thinking) else '<think>' -}}
{%- endif -%}"""

# GLM's markup is made of special tokens: each arrives whole, text in between in small pieces.
SPECIAL = re.compile(r"(</?think>|</?tool_call>|</?arg_key>|</?arg_value>)")


def token_pieces(text: str, size: int = 4) -> list[str]:
    out: list[str] = []
    for part in SPECIAL.split(text):
        if SPECIAL.fullmatch(part):
            out.append(part)
        else:
            out += [part[i : i + size] for i in range(0, len(part), size)]
    return [p for p in out if p]


class Server:
    """The request-independent state of one SGLang server (OpenAIServingChat.__init__ +
    TemplateManager._run_template_detection)."""

    def __init__(self, tool_call_parser: str, reasoning_parser: str):
        self.tool_call_parser = tool_call_parser
        self.reasoning_parser = reasoning_parser
        # TemplateManager._run_template_detection -> template_manager.force_reasoning/.reasoning_config
        self.force_reasoning, self.reasoning_config = detect_reasoning_pattern(GLM5_TEMPLATE)

    # serving_chat.OpenAIServingChat._get_reasoning_from_request, the branch for a template
    # with a detected toggle (GLM: enable_thinking, default on).
    def reasoning_from_request(self, request: ChatCompletionRequest) -> bool:
        config = self.reasoning_config
        if config is None or config.toggle_param is None or config.default_enabled is None:
            raise SystemExit(f"unexpected template detection for GLM-5: {config!r}")
        kwargs = request.chat_template_kwargs
        if config.default_enabled:
            return not kwargs or kwargs.get(config.toggle_param) is not False
        return kwargs is not None and kwargs.get(config.toggle_param) is True

    def force_reasoning_for(self, request) -> bool:
        # _build_chat_response / _process_reasoning_stream:
        # template_manager.force_reasoning or self._get_reasoning_from_request(request)
        return self.force_reasoning or self.reasoning_from_request(request)

    # serving_chat.OpenAIServingChat._tool_call_parsing_active (+ _effective_tools: request.tools)
    def tool_parsing_active(self, request: ChatCompletionRequest) -> bool:
        if not self.tool_call_parser or request._response_parser_json_response_format:
            return False
        if not (request.tools or []):
            return FunctionCallParser.ToolCallParserEnum[self.tool_call_parser].parses_without_tools()
        return request.tool_choice != "none"

    def reasoning_parser_for(self, request, stream: bool) -> ReasoningParser:
        return ReasoningParser(
            model_type=self.reasoning_parser,
            stream_reasoning=request.stream_reasoning if stream else False,
            force_reasoning=self.force_reasoning_for(request),
            request=request,
            tokenizer=None,
            tool_call_parser_active=self.tool_parsing_active(request),
        )

    def tool_parser_for(self, request) -> FunctionCallParser:
        # GLM detectors are not response-template detectors: prefix/constrained stay default.
        return FunctionCallParser(
            tools=list(request.tools or []),
            tool_call_parser=self.tool_call_parser,
            tokenizer=None,
            tool_choice=request.tool_choice,
        )

    def process_tool_calls(self, request, text: str, finish: str):
        """serving_chat._process_tool_calls: the model's native format through the detector
        (for required/named only when the detector owns its format, as glm47's does: SGLang
        then constrains with the GLM grammar, not a JSON schema), else the JSON array that a
        json_schema constraint makes."""
        choice = request.tool_choice
        is_required = choice == "required" or isinstance(choice, ToolChoice)
        parser = self.tool_parser_for(request)
        if (not is_required or parser.owns_tool_format()) and parser.has_tool_call(text):
            try:
                rest, calls = parser.parse_non_stream(text)
            except Exception as e:  # SGLang logs and keeps the text
                print(f"tool call parsing error: {e!r}", file=sys.stderr)
                return text, None, finish
            if not calls:  # "dropping the incomplete call"
                return rest, None, finish
            found = [{"name": c.name, "arguments": c.parameters} for c in calls]
            return rest, found, "tool_calls" if finish == "stop" else finish
        if is_required and parser.owns_tool_format():
            return text, None, finish  # "Required tool call missing from ... output"
        if is_required:
            try:
                data = json.loads(text)
                data = [data] if isinstance(data, dict) else data
                found = [{"name": t["name"], "arguments": json.dumps(t.get("parameters", {}), ensure_ascii=False)} for t in data]
            except Exception:
                return text, None, finish
            return "", found, "tool_calls" if finish == "stop" else finish
        return text, None, finish

    # serving_chat.OpenAIServingChat._answer_started
    @staticmethod
    def answer_started(rp: ReasoningParser | None) -> bool:
        detector = rp.detector if rp is not None else None
        return isinstance(detector, ResponseTemplateReasoningDetector) and detector.answer_started

    def non_stream(self, request: ChatCompletionRequest, text: str, finish: str = "stop") -> dict:
        """serving_chat._build_chat_response (+ _process_tool_calls); `finish` is the engine's
        finish reason ("stop", or "length" for an answer cut by max_tokens)."""
        reasoning_text, tool_calls, answer_started = None, None, False
        if self.reasoning_parser and request.separate_reasoning:
            rp = self.reasoning_parser_for(request, stream=False)
            reasoning_text, text = rp.parse_non_stream(text)
            answer_started = self.answer_started(rp)
        if self.tool_parsing_active(request) and not answer_started:
            text, tool_calls, finish = self.process_tool_calls(request, text, finish)
        return {
            "reasoning_content": reasoning_text or None,
            "content": text if text else "",
            "tool_calls": tool_calls,
            "finish_reason": finish,
        }

    def stream(self, request: ChatCompletionRequest, raw: str, engine_finish: str = "stop") -> dict:
        """serving_chat._generate_chat_stream / _generate_stream_content with
        _process_reasoning_stream, _process_tool_call_stream and
        _check_for_unstreamed_tool_args; one engine chunk per piece, the last one finishing."""
        deltas: list[dict] = []
        rp = tp = None
        has_tool_calls = False
        pieces = token_pieces(raw)
        for i, delta in enumerate(pieces):
            last = i == len(pieces) - 1
            if self.reasoning_parser and request.separate_reasoning:
                if rp is None:
                    rp = self.reasoning_parser_for(request, stream=True)
                reasoning_text, delta = rp.parse_stream_chunk(delta)
                if last:
                    end_r, end_n = rp.parse_stream_end()
                    if end_r:
                        reasoning_text = (reasoning_text or "") + end_r
                    if end_n:
                        delta = (delta or "") + end_n
                if reasoning_text:
                    deltas.append({"reasoning_content": reasoning_text})
            if self.tool_parsing_active(request) and not self.answer_started(rp):
                if tp is None:
                    tp = self.tool_parser_for(request)
                normal_text, calls = tp.parse_stream_chunk(delta)
                if last:
                    end_text, end_calls = tp.parse_stream_end()
                    normal_text = (normal_text or "") + end_text
                    calls = list(calls) + end_calls
                if normal_text:
                    deltas.append({"content": normal_text})
                for c in calls:
                    has_tool_calls = True
                    piece = {"index": c.tool_index, "name": c.name or None, "arguments": c.parameters}
                    deltas.append({"tool_call": piece})
                if last:
                    rest = unstreamed_tool_args(tp)
                    if rest:
                        deltas.append({"tool_call": rest})
            elif delta:
                deltas.append({"content": delta})
        # serving_chat._incomplete_tool_call_indices
        incomplete = getattr(getattr(tp, "detector", tp), "incomplete_tool_call_indices", set())
        finish = "tool_calls" if has_tool_calls and not incomplete and engine_finish == "stop" else engine_finish
        return {"pieces": len(pieces), "deltas": deltas, "finish_reason": finish}


def unstreamed_tool_args(parser: FunctionCallParser) -> dict | None:
    """serving_chat.OpenAIServingChat._check_for_unstreamed_tool_args."""
    detector = parser.detector
    prev = getattr(detector, "prev_tool_call_arr", None)
    streamed = getattr(detector, "streamed_args_for_tool", None)
    if not prev or not streamed:
        return None
    i = len(prev) - 1
    if i < 0 or i >= len(streamed):
        return None
    expected = prev[i].get("arguments", {})
    expected = expected if isinstance(expected, str) else json.dumps(expected, ensure_ascii=False)
    actual = streamed[i]
    remaining = expected[len(actual) :] if expected.startswith(actual) else ""
    return {"index": i, "name": None, "arguments": remaining} if remaining else None


def main() -> None:
    spec = json.load(sys.stdin)
    server = Server(spec["tool_call_parser"], spec["reasoning_parser"])
    kinds = {}
    for kind, req in spec["requests"].items():
        out = {}
        for stream in (False, True):
            body = {
                "model": "glm-5",
                "messages": [{"role": "user", "content": "hi"}],
                "stream": stream,
            }
            if req.get("tools"):
                body.update(tools=spec["tools"], tool_choice=req.get("tool_choice", "auto"))
            if not req.get("thinking", True):
                body["chat_template_kwargs"] = {"enable_thinking": False}
            request = ChatCompletionRequest(**body)
            if stream:
                # Forced tool choice streams through another path; the sidecar does not stream it.
                forced = body.get("tool_choice", "auto") != "auto"
                out["stream"] = None if forced else server.stream(request, req["raw"], req.get("finish", "stop"))
            else:
                out["non_stream"] = server.non_stream(request, req["raw"], req.get("finish", "stop"))
            out["force_reasoning"] = server.force_reasoning_for(request)
        kinds[kind] = out
    json.dump(
        {
            "sglang": sglang.__version__,
            "template": {
                "force_reasoning": server.force_reasoning,
                "reasoning_config": repr(server.reasoning_config),
            },
            "kinds": kinds,
        },
        sys.stdout,
        ensure_ascii=False,
        indent=1,
    )
    print()


if __name__ == "__main__":
    main()
