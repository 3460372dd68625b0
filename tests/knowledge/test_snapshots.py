from pathlib import Path

import pytest
from filelock import FileLock

from knowledge.errors import KnowledgeError
from knowledge.snapshots import SnapshotStore


def test_second_writer_is_refused_while_the_lock_is_held(tmp_path: Path) -> None:
    tmp_path.mkdir(exist_ok=True)
    holder = FileLock(str(tmp_path / ".lock"))
    with (
        holder,
        pytest.raises(KnowledgeError, match="another process is writing"),
        SnapshotStore(tmp_path, lock_timeout_s=0.1).locked(),
    ):
        pass
    with SnapshotStore(tmp_path, lock_timeout_s=0.1).locked():
        pass


def test_pointer_to_a_missing_snapshot_is_reported(tmp_path: Path) -> None:
    (tmp_path / "CURRENT").write_text("snap-000009\n")
    with pytest.raises(KnowledgeError, match="missing snapshot 'snap-000009'"):
        SnapshotStore(tmp_path).current()
