"""`deskbot keys create-operator | list-operator | revoke-operator`: shown once, stored hashed, clear errors."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, text

from tests.deskbot_process import run_deskbot


@pytest.mark.slow  # seven runs of the command line, about 5 s each here
def test_the_keys_commands_create_list_and_revoke_operator_keys(tmp_path):
    url = f"sqlite:///{tmp_path / 'cli.sqlite'}"
    env = {"DESKBOT_STORE__URL": url}
    empty = run_deskbot("keys", "list-operator", cwd=tmp_path, env=env)
    assert empty.returncode == 0 and "the console is closed" in empty.stderr
    created = run_deskbot("keys", "create-operator", "ada", cwd=tmp_path, env=env)
    assert created.returncode == 0, created.stderr
    key = created.stdout.strip()
    assert key.startswith("dso_") and "/admin/login" in created.stderr
    engine = create_engine(url)
    with engine.connect() as connection:
        stored = connection.execute(text("SELECT key_hash, hint FROM operator_keys")).one()
    engine.dispose()
    assert key not in stored.key_hash and stored.hint == key[:8] + "..."
    listed = run_deskbot("keys", "list-operator", cwd=tmp_path, env=env)
    assert listed.stdout.split()[:2] == ["ada", key[:8] + "..."] and "active" in listed.stdout
    duplicate = run_deskbot("keys", "create-operator", "ada", cwd=tmp_path, env=env)
    assert duplicate.returncode != 0 and "already exists" in duplicate.stderr and "Traceback" not in duplicate.stderr
    assert run_deskbot("keys", "revoke-operator", "ada", cwd=tmp_path, env=env).returncode == 0
    assert "revoked" in run_deskbot("keys", "list-operator", cwd=tmp_path, env=env).stdout
    unknown = run_deskbot("keys", "revoke-operator", "nobody", cwd=tmp_path, env=env)
    assert unknown.returncode != 0 and "no operator key named 'nobody'" in unknown.stderr
