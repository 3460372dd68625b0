#!/bin/sh
# Entry point of the Deskbot image: `deskbot ARGS` (default `serve`), with the container's start steps first.
#
# - A config file mounted at /etc/deskbot/deskbot.toml is passed as --config; everything else comes from DESKBOT_*
#   variables, which win over the file.
# - A knowledge folder mounted at /knowledge (not empty) becomes knowledge.path, unless DESKBOT_KNOWLEDGE__PATH names
#   another; its index goes to /data/index (DESKBOT_KNOWLEDGE__INDEX_DIR, unless set), as the folder may be read-only.
#   With none, the shipped sample help centre answers, indexed in /data/sample-index (kept apart, so mounting your
#   own folder later does not mix the sample into its index).
# - Before `serve` and `discord`: `deskbot db upgrade` (the store's migrations), then `deskbot ingest --prune` of the
#   knowledge folder, so a bad document or an unreachable database stops the container with one clear line instead
#   of a server that is never ready. The server's own start-up sync then finds nothing changed. `prepare` runs only
#   these steps and exits (compose.yaml's one-shot `prepare` service, which serve and the workers wait for);
#   `worker` (`deskbot worker`) does not run them: it expects `prepare` (or a serve) to have.
# CONFIG_FILE and KNOWLEDGE_MOUNT move those two mount points (tests/deploy/test_entrypoint.py runs this script).
set -eu

config_file="${CONFIG_FILE:-/etc/deskbot/deskbot.toml}"
knowledge_mount="${KNOWLEDGE_MOUNT:-/knowledge}"

run_deskbot() {
    if [ -f "$config_file" ]; then
        deskbot --config "$config_file" "$@"
    else
        deskbot "$@"
    fi
}

[ "$#" -eq 0 ] && set -- serve

if [ -z "${DESKBOT_KNOWLEDGE__PATH:-}" ] && [ -n "$(ls -A "$knowledge_mount" 2>/dev/null)" ]; then
    export DESKBOT_KNOWLEDGE__PATH="$knowledge_mount"
fi
if [ -n "${DESKBOT_KNOWLEDGE__PATH:-}" ]; then
    export DESKBOT_KNOWLEDGE__INDEX_DIR="${DESKBOT_KNOWLEDGE__INDEX_DIR:-${DESKBOT_DATA_DIR:-/data}/index}"
fi

if [ "$1" = serve ] || [ "$1" = discord ] || [ "$1" = prepare ]; then
    run_deskbot db upgrade
    if [ -n "${DESKBOT_KNOWLEDGE__PATH:-}" ]; then
        run_deskbot ingest "$DESKBOT_KNOWLEDGE__PATH" --prune
    else
        echo "docker-entrypoint: nothing mounted at $knowledge_mount; the shipped sample help centre answers" >&2
    fi
    [ "$1" = prepare ] && exit 0
fi

if [ -f "$config_file" ]; then
    exec deskbot --config "$config_file" "$@"
fi
exec deskbot "$@"
