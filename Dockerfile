# RepayBot image: build a wheel of the project, install it into a slim runtime, run as non-root.
#   docker build -t repaybot .
#   docker run --rm -e BOT_TOKEN=... -v repaybot-data:/app/data repaybot
# With PostgreSQL: docker compose up -d (docker-compose.yml). Webhook mode: command
# ["repaybot", "webhook"] with WEBHOOK_URL/WEBHOOK_SECRET set, behind a TLS reverse proxy.

FROM python:3.11-slim AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY core ./core
COPY bot ./bot
RUN pip wheel --no-deps --wheel-dir /wheels .

FROM python:3.11-slim
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1
COPY --from=build /wheels /wheels
RUN pip install /wheels/*.whl \
    && rm -rf /wheels \
    && useradd --system --user-group --home-dir /app --no-create-home --shell /usr/sbin/nologin repaybot \
    && mkdir -p /app/data \
    && chown -R repaybot:repaybot /app
WORKDIR /app
# Outside a container both servers listen on loopback only (the defaults); inside one,
# loopback is unreachable from the published ports, so they listen on every address of
# the container's own network. Publish them on the host's loopback (-p 127.0.0.1:8080:8080).
ENV DATABASE_URL=sqlite+aiosqlite:////app/data/repaybot.db \
    HTTP_HOST=0.0.0.0 \
    WEBHOOK_HOST=0.0.0.0
VOLUME ["/app/data"]
USER repaybot
# 8080: /healthz and /metrics (HTTP_PORT); 8443: the webhook server (WEBHOOK_PORT).
EXPOSE 8080 8443
HEALTHCHECK --interval=30s --timeout=10s --start-period=30s --retries=3 \
    CMD ["repaybot", "healthcheck"]
CMD ["repaybot", "run"]
