"""The Dockerfile and compose.yaml, checked without a container runtime (none can pull base images here).

compose.yaml against the Compose Specification's JSON schema (vendored in tests/fixtures/compose/); the Dockerfile's
instructions parsed and held to what docs/deploy.md promises; every DESKBOT_* name in the container files is a real
setting. The build and install steps themselves run in a fresh virtualenv in `.ci/check_wheel`.
"""

from __future__ import annotations

import json
import re

import jsonschema
import pytest
import yaml

from adapters.http.settings import ServerSettings
from tests.deploy.build_backend import REPO
from tests.deploy.container_files import dockerfile_instructions, is_setting, setting_names

CONTAINER_FILES = [
    "Dockerfile",
    "compose.yaml",
    "deploy/docker-entrypoint.sh",
    "deploy/healthcheck.py",
    "docs/deploy.md",
]


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((REPO / "compose.yaml").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def instructions():
    return dockerfile_instructions(REPO / "Dockerfile")


def test_compose_file_follows_the_compose_specification(compose: dict) -> None:
    schema = json.loads((REPO / "tests/fixtures/compose/compose-spec.json").read_text(encoding="utf-8"))
    jsonschema.Draft7Validator.check_schema(schema)
    jsonschema.Draft7Validator(schema).validate(compose)


def test_the_schema_check_catches_a_broken_compose_file(compose: dict) -> None:
    schema = json.loads((REPO / "tests/fixtures/compose/compose-spec.json").read_text(encoding="utf-8"))
    broken = {**compose, "services": {**compose["services"], "deskbot": {**compose["services"]["deskbot"]}}}
    broken["services"]["deskbot"]["healthcheck"] = {"test": ["CMD"], "interval": 15}
    broken["services"]["deskbot"]["restart_policy"] = "always"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft7Validator(schema).validate(broken)


@pytest.mark.parametrize("name", CONTAINER_FILES)
def test_every_deskbot_variable_is_a_real_setting(name: str) -> None:
    names = setting_names((REPO / name).read_text(encoding="utf-8"))
    assert names, f"{name} names no DESKBOT_* setting"
    unknown = sorted(n for n in names if not is_setting(n))
    assert not unknown, f"{name}: not settings: {unknown}"


def test_the_setting_check_knows_a_wrong_name() -> None:
    assert is_setting("DESKBOT_LLM__BASE_URL") and is_setting("DESKBOT_SLACK__SIGNING_SECRET")
    assert is_setting("DESKBOT_DATA_DIR") and is_setting("DESKBOT_LOGGING__FORMAT")
    assert not is_setting("DESKBOT_LLM__BASEURL") and not is_setting("DESKBOT_LLM")
    assert not is_setting("DESKBOT_DATA_DIR__X") and not is_setting("DESKBOT_CONFIG_FILE")


def test_compose_runs_deskbot_on_postgres_with_health_checks(compose: dict) -> None:
    services = compose["services"]
    assert {"postgres", "prepare", "deskbot", "worker", "model-cpu", "model-gpu"} <= set(services)
    deskbot = services["deskbot"]
    assert deskbot["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert deskbot["depends_on"]["prepare"]["condition"] == "service_completed_successfully"
    assert deskbot["environment"]["DESKBOT_STORE__URL"].startswith("postgresql+psycopg://deskbot:")
    assert deskbot["healthcheck"]["test"] == ["CMD", "deskbot-healthcheck"]
    assert "pg_isready" in services["postgres"]["healthcheck"]["test"][1]
    mounts = {re.search(r":(/[^:]*)(:ro)?$", volume).group(1) for volume in deskbot["volumes"]}
    assert {"/data", "/knowledge", "/etc/deskbot"} <= mounts
    assert set(compose["volumes"]) >= {"postgres-data", "deskbot-data"}
    for optional in ("model-cpu", "model-gpu"):
        assert services[optional]["profiles"], f"{optional} must only start with its profile"
        assert "healthcheck" in services[optional]
    gpu = services["model-gpu"]["deploy"]["resources"]["reservations"]["devices"][0]
    assert gpu["driver"] == "nvidia" and "gpu" in gpu["capabilities"]


def test_compose_runs_answer_workers_as_a_service_of_their_own(compose: dict) -> None:
    services = compose["services"]
    serve, worker, prepare = services["deskbot"], services["worker"], services["prepare"]
    assert serve["command"] == ["serve"]
    assert ServerSettings(answering=serve["environment"]["DESKBOT_SERVER__ANSWERING"]).answering == "external"
    assert worker["command"][:2] == ["worker", "--processes"]
    assert worker["image"] == serve["image"] and "ports" not in worker, "a worker listens on no port: it scales"
    assert "replicas" in worker["deploy"]
    for started in (serve, worker):
        assert started["depends_on"]["postgres"]["condition"] == "service_healthy"
        assert started["depends_on"]["prepare"]["condition"] == "service_completed_successfully"
        assert started["volumes"] == prepare["volumes"]
    assert worker["healthcheck"]["test"] == ["CMD", "deskbot-healthcheck", "worker"]
    assert prepare["command"] == ["prepare"] and prepare["restart"] == "no"
    # The workers see what serve sees (store, models, channels, logs), less serve's own HTTP settings.
    serve_only = {"DESKBOT_SERVER__WORKERS", "DESKBOT_SERVER__ANSWERING"}
    assert worker["environment"] == {k: v for k, v in serve["environment"].items() if k not in serve_only}
    assert prepare["environment"] == worker["environment"]


def test_compose_passes_secrets_only_when_they_are_set(compose: dict) -> None:
    for service in ("deskbot", "worker"):
        environment = compose["services"][service]["environment"]
        for secret in ("DESKBOT_LLM__API_KEY", "DESKBOT_SLACK__SIGNING_SECRET", "DESKBOT_SLACK__BOT_TOKEN"):
            assert environment[secret] is None, f"{secret}: an empty default would turn the setting on with ''"


def test_the_image_is_built_from_the_wheel_and_runs_as_a_user(instructions) -> None:
    runtime = [i for i in instructions if i.stage == "runtime"]
    assert runtime and instructions[-1].stage == "runtime"
    installs = [i.arguments for i in runtime if i.keyword == "RUN" and "pip install" in i.arguments]
    assert any("deskbot-*.whl)[all" in step and "-c /tmp/constraints.txt" in step for step in installs)
    assert all("-c /tmp/constraints.txt" in step for step in installs), "every install step uses the constraints"
    users = [i.arguments for i in runtime if i.keyword == "USER"]
    assert users and users[-1] not in {"root", "0"}
    assert any(i.keyword == "RUN" and "useradd" in i.arguments and users[-1] in i.arguments for i in runtime)
    [healthcheck] = [i.arguments for i in runtime if i.keyword == "HEALTHCHECK"]
    assert "deskbot-healthcheck" in healthcheck
    assert "/readyz" in (REPO / "deploy/healthcheck.py").read_text(encoding="utf-8")
    env = " ".join(i.arguments for i in runtime if i.keyword == "ENV")
    assert "HF_HUB_OFFLINE=1" in env and "DESKBOT_DATA_DIR=/data" in env
    [entrypoint] = [i.arguments for i in runtime if i.keyword == "ENTRYPOINT"]
    assert "docker-entrypoint.sh" in entrypoint


def test_the_build_stage_copies_what_the_wheel_is_made_of(instructions) -> None:
    copied = set()
    for instruction in instructions:
        if instruction.keyword == "COPY" and instruction.stage == "build":
            *sources, _target = instruction.arguments.split()
            copied |= {source.rstrip("/") for source in sources}
    assert {"pyproject.toml", "README.md", "build_backend", "bot", "knowledge", "adapters", "prompts"} <= copied
    for source in copied:
        assert (REPO / source).exists(), f"COPY {source}: not in the repository"
    for instruction in instructions:
        if instruction.keyword == "COPY" and not instruction.arguments.startswith("--from"):
            source = next(part for part in instruction.arguments.split() if not part.startswith("--"))
            assert (REPO / source).exists(), f"COPY {source}: not in the repository"


def test_the_dockerignore_keeps_the_sources_in() -> None:
    ignored = {
        line.strip() for line in (REPO / ".dockerignore").read_text().splitlines() if line and not line.startswith("#")
    }
    assert {".git", ".venv", "benchmarks", "tests"} <= ignored
    assert not ignored & {"bot", "knowledge", "adapters", "prompts", "build_backend", "pyproject.toml", "README.md"}


def test_the_gpu_variant_is_a_build_argument(instructions) -> None:
    args = {i.arguments.split("=")[0] for i in instructions if i.keyword == "ARG"}
    assert {"VARIANT", "TORCH_INDEX_URL"} <= args
    torch_step = next(i.arguments for i in instructions if i.keyword == "RUN" and "install --index-url" in i.arguments)
    assert "cpu)" in torch_step and "gpu)" in torch_step and "exit 1" in torch_step


def test_the_docs_walk_through_the_compose_stack() -> None:
    text = (REPO / "docs/deploy.md").read_text(encoding="utf-8")
    steps = (
        "docker compose up -d",
        "deskbot keys create",
        "/slack/events",
        "--profile model-cpu",
        "/readyz",
        "--scale worker=",
    )
    for step in steps:
        assert step in text, step
