# The images of this repository's two Python apps, one target each on a shared stage:
#   smoke  the sidecar: `python -m smoke` checks tool calling and reasoning parsing on a live
#          GLM-5 server (see smoke/__main__.py; configured by SMOKE_* environment variables)
#   bench  AIPerf and `python -m bench` (the `bench` compose profile, `make bench`)
# Build one from the repo root with its name twice, as the target and as APP (the folder the
# shared stage installs):  docker build --target bench --build-arg APP=bench .
#
# BASE defaults to the official slim image. The rehearsal builds FROM a local Debian bookworm
# image whose python3 is the system one (PEP 668: no system-wide pip), so the dependencies go
# into a venv in /opt/APP, which works the same on both.
ARG BASE=python:3.11-slim
FROM ${BASE} AS app

# smoke or bench: no default, so a build that forgets it fails instead of making the wrong app.
ARG APP
# Optional: a find-links URL to install from instead of PyPI (the rehearsal serves wheels that
# the host's pip downloaded, for machines whose PyPI access needs the host's CA bundle).
ARG WHEELS=
# scripts/images.sh reads these COPY lines (with APP put in) to know an image's inputs.
COPY ${APP}/requirements.txt /tmp/${APP}-requirements.txt
COPY ${APP}/constraints.txt /tmp/${APP}-constraints.txt
# Debian's python3 has no ensurepip without python3-venv: add it (no compilers, no build
# tools) only when the base lacks it. pip itself is dropped again: the apps never need it.
RUN set -eu; \
    if ! python3 -m venv "/opt/$APP" 2>/dev/null; then \
        rm -rf "/opt/$APP"; \
        command -v apt-get >/dev/null || { echo "base image needs python3 with venv" >&2; exit 1; }; \
        apt-get update -q; \
        apt-get install -y -q --no-install-recommends python3-venv; \
        rm -rf /var/lib/apt/lists/* /var/cache/apt/archives/*.deb; \
        python3 -m venv "/opt/$APP"; \
    fi; \
    "/opt/$APP/bin/python" -m pip install --no-cache-dir --disable-pip-version-check -q \
        ${WHEELS:+--no-index --find-links "$WHEELS"} \
        -r "/tmp/$APP-requirements.txt" -c "/tmp/$APP-constraints.txt"; \
    "/opt/$APP/bin/python" -m pip uninstall -y -q pip setuptools 2>/dev/null || true; \
    rm "/tmp/$APP-requirements.txt" "/tmp/$APP-constraints.txt"

COPY ${APP} /app/${APP}
# A fixed numeric user per app (compose may override it with the owner of the reports
# folder); the targets below name the same uid. /reports is where both write; bench's HOME is
# /tmp, so a read-only root filesystem is fine for both.
RUN set -eu; \
    case "$APP" in \
        smoke) uid=10001; gecos='smoke sidecar'; home=/app ;; \
        bench) uid=10003; gecos=bench; home=/tmp ;; \
        *) echo "APP=$APP: build with --build-arg APP=smoke or APP=bench" >&2; exit 1 ;; \
    esac; \
    grep -q "^$APP:" /etc/group || echo "$APP:x:$uid:" >> /etc/group; \
    grep -q "^$APP:" /etc/passwd || echo "$APP:x:$uid:$uid:$gecos:$home:/usr/sbin/nologin" >> /etc/passwd; \
    mkdir -p /reports; \
    chown "$uid:$uid" /reports; \
    "/opt/$APP/bin/python" -m compileall -q "/app/$APP"

ENV PATH=/opt/${APP}/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    PYTHONPATH=/app \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1
WORKDIR /app

# The bench writes only /reports and /tmp (HOME and matplotlib's config go there); the HF cache
# is mounted read-only and read offline.
FROM app AS bench
USER 10003:10003
ENV HOME=/tmp \
    MPLCONFIGDIR=/tmp/matplotlib \
    HF_HUB_OFFLINE=1 \
    BENCH_REPORTS=/reports
ENTRYPOINT ["python3", "-m", "bench"]

# Last, so that the classic builder (which builds every stage up to its target) builds no
# more than the shared stage and bench's few settings on the way.
FROM app AS smoke
USER 10001:10001
ENTRYPOINT ["python3", "-m", "smoke"]
