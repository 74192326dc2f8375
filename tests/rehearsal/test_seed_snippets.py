"""The seed guide's own client snippets, with the official openai package, against the running
rehearsal stack (scripts/rehearse.sh sets REHEARSAL_BASE_URL). Each must give the structured result.

The snippets are the guide's, unchanged but for the base URL: thinking on, thinking off through
extra_body, and the get_weather tool call.
"""

import json
import os

import pytest
from openai import OpenAI

pytestmark = pytest.mark.docker


@pytest.fixture(scope="module")
def client():
    url = os.environ.get("REHEARSAL_BASE_URL")
    assert url, "run through scripts/rehearse.sh (make rehearse), which starts the stack and sets REHEARSAL_BASE_URL"
    return OpenAI(base_url=f"{url}/v1", api_key="EMPTY", timeout=120, max_retries=1)


def reasoning_of(message):
    # vLLM >= 0.16 returns `reasoning`; SGLang and older vLLM `reasoning_content`. The openai
    # package keeps unknown fields as extras.
    extra = message.model_extra or {}
    return extra.get("reasoning") or extra.get("reasoning_content")


def test_thinking_on(client):
    response = client.chat.completions.create(
        model="glm-5-fp8",
        messages=[
            {"role": "system", "content": "You are a helpful assistant."},
            {"role": "user", "content": "Solve: find all primes p where p^2 + 2 is also prime"},
        ],
        temperature=1.0,
        max_tokens=4096,
    )
    message = response.choices[0].message
    assert message.content and "</think>" not in message.content and "<think>" not in message.content
    assert reasoning_of(message)


def test_thinking_off(client):
    response = client.chat.completions.create(
        model="glm-5-fp8",
        messages=[{"role": "user", "content": "Write a quicksort in Rust"}],
        temperature=1.0,
        max_tokens=4096,
        extra_body={"chat_template_kwargs": {"enable_thinking": False}},
    )
    message = response.choices[0].message
    assert message.content and "think>" not in message.content
    assert not reasoning_of(message)


def test_tool_call(client):
    tools = [{
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "एक शहर के लिए वर्तमान मौसम प्राप्त करें",
            "parameters": {
                "type": "object",
                "required": ["city"],
                "properties": {"city": {"type": "string", "description": "City name"}},
            },
        },
    }]
    response = client.chat.completions.create(
        model="glm-5-fp8",
        messages=[{"role": "user", "content": "What's the weather in Tokyo?"}],
        tools=tools,
        tool_choice="auto",
    )
    choice = response.choices[0]
    assert choice.finish_reason == "tool_calls"
    (call,) = choice.message.tool_calls
    assert call.function.name == "get_weather"
    assert json.loads(call.function.arguments) == {"city": "Tokyo"}
    assert "<tool_call>" not in (choice.message.content or "")
