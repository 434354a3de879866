# The pinger image: `pinger collect` (collector) and `pinger aggregate --nightly` (aggregator).
# Runs as an unprivileged user; the collector pings with datagram ICMP (see docker-compose.yml).
FROM python:3.12-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY pinger ./pinger
COPY collector ./collector
COPY aggregator ./aggregator
COPY ingestion ./ingestion
COPY reporting ./reporting
RUN pip wheel --no-cache-dir --disable-pip-version-check --wheel-dir /wheels .

FROM python:3.12-slim
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PINGER_CONFIG=/etc/pinger/pools.yaml
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir --disable-pip-version-check /wheels/*.whl \
    && rm -rf /wheels \
    && groupadd --system --gid 10001 pinger \
    && useradd --system --uid 10001 --gid pinger --home-dir /var/lib/pinger --shell /usr/sbin/nologin pinger \
    && mkdir -p /var/lib/pinger/data /etc/pinger \
    && chown -R pinger:pinger /var/lib/pinger
# Relative paths in the config (data/spool.sqlite, data/pinger.sqlite) land in this volume.
WORKDIR /var/lib/pinger
VOLUME /var/lib/pinger
USER 10001:10001
# Healthy while the collector's newest sweep in its store, or with InfluxDB in its spool (delivered or
# not), is younger than three intervals: `pinger health` says so in one sentence (docker inspect shows
# it). The start period covers the wait for the first sweep, up to one interval of 5 minutes. The
# aggregator runs from this image too and has no sweeps: docker-compose.yml gives it its own check.
HEALTHCHECK --interval=1m --timeout=30s --start-period=10m --retries=3 CMD ["pinger", "health"]
ENTRYPOINT ["pinger"]
CMD ["collect"]
