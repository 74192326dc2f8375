"""The README's client examples (curl and the openai package), run as written against the
running rehearsal stack: only the address changes (scripts/rehearse.sh sets REHEARSAL_BASE_URL).
An example that stops working on the real engine and parsers fails here."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.docker

ROOT = Path(__file__).resolve().parents[2]
README_URL = "http://127.0.0.1:8000"


def blocks(language: str) -> list[str]:
    text = (ROOT / "README.md").read_text()
    section = text.split("<!-- clients:start -->", 1)[1].split("<!-- clients:end -->", 1)[0]
    return re.findall(rf"```{language}\n(.*?)```", section, re.S)


@pytest.fixture(scope="module")
def url():
    url = os.environ.get("REHEARSAL_BASE_URL")
    assert url, "run through scripts/rehearse.sh (make rehearse), which starts the stack and sets REHEARSAL_BASE_URL"
    return url


def run(args, source: str, url: str) -> str:
    assert README_URL in source
    done = subprocess.run([*args, source.replace(README_URL, url)], capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def test_the_curl_examples_split_reasoning_and_turn_it_off(url):
    (shell,) = blocks("bash")
    out, answers, decoder = run(["bash", "-c"], shell, url).strip(), [], json.JSONDecoder()
    while out:
        answer, end = decoder.raw_decode(out)
        answers.append(answer["choices"][0]["message"])
        out = out[end:].lstrip()
    on, off = answers
    assert on["content"] and (on.get("reasoning") or on.get("reasoning_content"))
    assert "think>" not in on["content"]
    assert off["content"] and not (off.get("reasoning") or off.get("reasoning_content"))


def test_the_openai_thinking_example(url):
    thinking = next(b for b in blocks("python") if "enable_thinking" in b)
    out = run([sys.executable, "-c"], thinking, url)
    assert out.startswith("reasoning: ") and not out.startswith("reasoning: None")
    answers = re.findall(r"^answer: (.*)$", out, re.M)
    assert len(answers) == 2 and "None" not in answers and not any("think>" in a for a in answers)


def test_the_streamed_tool_call_example(url):
    tool = next(b for b in blocks("python") if "stream=True" in b)
    out = run([sys.executable, "-c"], tool, url)
    assert out.strip().splitlines()[-1] == "tool_calls get_weather {'city': 'Tokyo'}"


def test_the_operator_paths_tool_call(url):
    """Step 7 of the README's path from zero to a served tool call."""
    text = (ROOT / "README.md").read_text()
    path = text.split("\n## From zero to a served tool call\n", 1)[1].split("\n## ", 1)[0]
    (call,) = [b for b in re.findall(r"```bash\n(.*?)```", path, re.S) if "curl" in b]
    answer = json.loads(run(["bash", "-c"], call, url))
    choice = answer["choices"][0]
    assert choice["finish_reason"] == "tool_calls"
    (tool_call,) = choice["message"]["tool_calls"]
    assert tool_call["function"]["name"] == "get_weather"
    assert json.loads(tool_call["function"]["arguments"]) == {"city": "Tokyo"}
