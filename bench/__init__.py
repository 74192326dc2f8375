"""bench: how well a live endpoint serves (AIPerf load, the engine's /metrics, reports)."""
