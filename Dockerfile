# Two stages: build a wheel with the build tools, run it on a slim image as a non-root user.
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY cogs ./cogs
COPY db ./db
RUN pip install --no-cache-dir build==1.6.1 && python -m build --wheel --outdir /wheels

FROM python:3.11-slim
RUN useradd --create-home --uid 10001 seedance \
    && mkdir /data && chown seedance /data
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir /wheels/*.whl && rm -rf /wheels
USER 10001
WORKDIR /home/seedance
# The database (and temporary videos) live on a volume; secrets come from the environment.
ENV DATABASE_PATH=/data/seedance.db
VOLUME ["/data"]
# SIGTERM stops it cleanly within SHUTDOWN_GRACE_SECONDS (8 s), inside Docker's 10 s default.
STOPSIGNAL SIGTERM
# Alive = the gateway is connected and the job runner works: asked of /healthz when
# METRICS_PORT is set, else read from the heartbeat the bot writes to its database.
HEALTHCHECK --interval=30s --timeout=10s --start-period=60s --retries=3 \
    CMD ["python", "-m", "bot", "check", "--health"]
CMD ["python", "-m", "bot"]
