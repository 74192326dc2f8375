# The gateway (generator.py --gateway): nginx in front of the engine, Bearer keys from a secret.
#   make keys             secrets/api-keys: one key per line, mode 600, git-ignored; kept if present
#   make tls-selfsigned   secrets/tls.crt + secrets/tls.key for trying --tls-cert/--tls-key
#   make test-gateway     the nginx configuration under real nginx (needs Debian's nginx package)
#   make gateway-image    glm5-compose/nginx:rehearsal (Debian's nginx on the local base image)
SECRETS ?= secrets
PY ?= .venv/bin/python
TLS_NAME ?= localhost

.PHONY: keys tls-selfsigned test-gateway gateway-image

keys: ## create secrets/api-keys (API keys for the gateway, one per line, mode 600); keeps an existing one
	@umask 077; mkdir -p $(SECRETS); \
	if [ -s $(SECRETS)/api-keys ]; then \
		echo "keys: $(SECRETS)/api-keys exists; kept (one key per line: add or delete lines, then restart the gateway)"; \
	else \
		python3 -c 'import secrets; print("glm5-" + secrets.token_urlsafe(32))' > $(SECRETS)/api-keys.tmp \
		&& mv $(SECRETS)/api-keys.tmp $(SECRETS)/api-keys \
		&& echo "keys: wrote $(SECRETS)/api-keys (mode 600; clients send: Authorization: Bearer <first line>)"; \
	fi

tls-selfsigned: ## a self-signed certificate for trying TLS: secrets/tls.crt, secrets/tls.key (TLS_NAME=localhost)
	@umask 077; mkdir -p $(SECRETS)
	openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj "/CN=$(TLS_NAME)" \
		-addext "subjectAltName=DNS:$(TLS_NAME),DNS:localhost,IP:127.0.0.1" \
		-keyout $(SECRETS)/tls.key -out $(SECRETS)/tls.crt 2>/dev/null
	@chmod 644 $(SECRETS)/tls.crt
	@echo "tls-selfsigned: $(SECRETS)/tls.crt and $(SECRETS)/tls.key (valid 30 days; clients must trust tls.crt)"

test-gateway: $(VENV)/.stamp ## the gateway's nginx config under real nginx: keys, routes, streaming, limits, TLS
	$(PY) -m pytest -q tests/gateway

gateway-image: docker-up
	CACHE=$(CACHE) scripts/images.sh gateway
