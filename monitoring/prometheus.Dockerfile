# The rehearsal's Prometheus: Debian's `prometheus` package on the local base image (no
# registry). Users get the upstream image (pinned in recipe/catalog.py); this one stands in for
# it where no image can be pulled. Built by scripts/images.sh prometheus.
ARG BASE=glm5-compose/base:bookworm
FROM ${BASE}
# Keep equal to scripts/promtool.sh, whose promtool checks the same files.
ARG PROMETHEUS_VERSION=2.42.0+ds-5+deb12u1
# policy-rc.d: the package's postinst must not start a daemon inside the build.
RUN set -eu; \
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d; \
    chmod 755 /usr/sbin/policy-rc.d; \
    apt-get update -q; \
    apt-get install -y -q --no-install-recommends "prometheus=${PROMETHEUS_VERSION}"; \
    rm -rf /var/lib/apt/lists/* /var/cache/apt/archives/*.deb /usr/sbin/policy-rc.d; \
    mkdir -p /prometheus /etc/prometheus; \
    chown prometheus:prometheus /prometheus; \
    /usr/bin/prometheus --version
# The package's own user (non-root); /prometheus is the data volume, owned by it.
USER prometheus
WORKDIR /prometheus
EXPOSE 9090
ENTRYPOINT ["/usr/bin/prometheus"]
CMD ["--config.file=/etc/prometheus/prometheus.yml", "--storage.tsdb.path=/prometheus"]
