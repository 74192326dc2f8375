# The smoke sidecar: `python -m smoke` checks tool calling and reasoning parsing on a live
# GLM-5 server (see smoke/__main__.py; configured by SMOKE_* environment variables).
#
# BASE defaults to the official slim image. The rehearsal builds FROM a local Debian bookworm
# image whose python3 is the system one (PEP 668: no system-wide pip), so the dependencies go
# into a venv in /opt/smoke, which works the same on both.
ARG BASE=python:3.11-slim
FROM ${BASE}

# Optional: a find-links URL to install from instead of PyPI (the rehearsal serves wheels that
# the host's pip downloaded, for machines whose PyPI access needs the host's CA bundle).
ARG WHEELS=
COPY smoke/requirements.txt /tmp/smoke-requirements.txt
COPY smoke/constraints.txt /tmp/smoke-constraints.txt
# Debian's python3 has no ensurepip without python3-venv: add it (no compilers, no build
# tools) only when the base lacks it. pip itself is dropped again: the sidecar never needs it.
RUN set -eu; \
    if ! python3 -m venv /opt/smoke 2>/dev/null; then \
        rm -rf /opt/smoke; \
        command -v apt-get >/dev/null || { echo "base image needs python3 with venv" >&2; exit 1; }; \
        apt-get update -q; \
        apt-get install -y -q --no-install-recommends python3-venv; \
        rm -rf /var/lib/apt/lists/* /var/cache/apt/archives/*.deb; \
        python3 -m venv /opt/smoke; \
    fi; \
    /opt/smoke/bin/python -m pip install --no-cache-dir --disable-pip-version-check -q \
        ${WHEELS:+--no-index --find-links "$WHEELS"} \
        -r /tmp/smoke-requirements.txt -c /tmp/smoke-constraints.txt; \
    /opt/smoke/bin/python -m pip uninstall -y -q pip setuptools 2>/dev/null || true; \
    rm /tmp/smoke-requirements.txt /tmp/smoke-constraints.txt

COPY smoke /app/smoke
# A fixed numeric user (compose may override it with the owner of the reports folder); the
# report folder is the one place it writes, so a read-only root filesystem is fine.
RUN set -eu; \
    grep -q '^smoke:' /etc/group || echo 'smoke:x:10001:' >> /etc/group; \
    grep -q '^smoke:' /etc/passwd || echo 'smoke:x:10001:10001:smoke sidecar:/app:/usr/sbin/nologin' >> /etc/passwd; \
    mkdir -p /reports; \
    chown 10001:10001 /reports; \
    /opt/smoke/bin/python -m compileall -q /app/smoke

ENV PATH=/opt/smoke/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    PYTHONPATH=/app \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1
WORKDIR /app
USER 10001:10001
ENTRYPOINT ["python3", "-m", "smoke"]
