# The rehearsal gateway: Debian's nginx package standing in for the official nginx image, on the
# local base image (no registry). Built by scripts/images.sh gateway with `--network host`, so
# apt reaches the Debian mirror the base was bootstrapped from. The configuration and the start
# script are not baked in: the render ships them (Compose configs), as it does for the real image.
ARG BASE=glm5-compose/base:bookworm
FROM ${BASE}
# wget: the healthcheck's client (the official alpine image has busybox's). The package's
# default site and its log and state folders are never used: the render's config points every
# path into a tmpfs.
RUN set -eu; \
    apt-get update -q; \
    apt-get install -y -q --no-install-recommends nginx wget; \
    rm -rf /var/lib/apt/lists/* /var/cache/apt/archives/*.deb /etc/nginx/sites-enabled/*; \
    nginx -v
# Non-root, like every image we build; the render's `user:` (the owner of the key file) overrides it.
RUN set -eu; \
    echo 'gateway:x:10003:' >> /etc/group; \
    echo 'gateway:x:10003:10003:glm5 gateway:/nonexistent:/usr/sbin/nologin' >> /etc/passwd
USER 10003:10003
STOPSIGNAL SIGQUIT
CMD ["nginx", "-v"]
