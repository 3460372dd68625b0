#!/usr/bin/env python3
"""The container's HEALTHCHECK: exit 0 when `deskbot serve` answers 200 on /readyz, 1 otherwise;
`deskbot-healthcheck worker`: exit 0 when `deskbot worker --check` does (this container's answer processes beat
`ready` in the store lately), 1 otherwise.

The port is the server's own setting (DESKBOT_SERVER__PORT, default 8080); a config file mounted where the entry
point looks for it (CONFIG_FILE, default /etc/deskbot/deskbot.toml) is passed to `deskbot worker --check` as the
entry point passes it. Standard library only, so the image needs no curl.
"""

import os
import subprocess
import sys
import urllib.error
import urllib.request

PORT = os.environ.get("DESKBOT_SERVER__PORT", "8080")
CONFIG_FILE = os.environ.get("CONFIG_FILE", "/etc/deskbot/deskbot.toml")
WORKER_CHECK_TIMEOUT_S = 9


def serve_is_ready() -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{PORT}/readyz", timeout=4) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError) as error:
        print(f"deskbot not ready: {error}", file=sys.stderr)
        return False


def worker_is_ready() -> bool:
    config = ["--config", CONFIG_FILE] if os.path.isfile(CONFIG_FILE) else []
    command = ["deskbot", *config, "worker", "--check"]
    try:
        return subprocess.run(command, timeout=WORKER_CHECK_TIMEOUT_S, check=False).returncode == 0
    except (OSError, subprocess.TimeoutExpired) as error:
        print(f"deskbot worker not ready: {error}", file=sys.stderr)
        return False


if __name__ == "__main__":
    ready = worker_is_ready() if sys.argv[1:] == ["worker"] else serve_is_ready()
    sys.exit(0 if ready else 1)
