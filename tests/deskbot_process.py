"""Run the real `deskbot` command line in a subprocess, as a user would, and what such a process needs: a free
loopback port, and an environment of the test's own (offline, hash embedder, fake LLM)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path


def free_port() -> int:
    """A loopback port nothing listens on now, for a server the test starts."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def without_deskbot_settings(environment: Mapping[str, str]) -> dict[str, str]:
    """`environment` without its DESKBOT_ variables, so no setting of the developer's shell reaches a process."""
    return {name: value for name, value in environment.items() if not name.startswith("DESKBOT_")}


def offline_fake_env(cache: Path, **settings: str) -> dict[str, str]:
    """The environment of a real `deskbot` process started by a test: the shell's without its DESKBOT_ settings,
    offline, with its model cache in `cache`, the hash embedder and the fake LLM; `settings` are more variables."""
    return {
        **without_deskbot_settings(os.environ),
        "XDG_CACHE_HOME": str(cache),
        "HF_HUB_OFFLINE": "1",
        "DESKBOT_LLM__BACKEND": "fake",
        "DESKBOT_KNOWLEDGE__EMBEDDER": "hash",
        "DESKBOT_KNOWLEDGE__EMBEDDER_MODEL": "hash-256",
        **settings,
    }


def run_deskbot(
    *args: str, cwd: Path, env: dict[str, str] | None = None, stdin: str | None = None, timeout: float = 600
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**os.environ, **(env or {})},
        input=stdin,
        timeout=timeout,
        check=False,
    )
