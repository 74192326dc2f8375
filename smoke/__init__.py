"""Health-check sidecar for a GLM-5 server: `python -m smoke --help`."""
