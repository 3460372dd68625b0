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


def test_a_pointer_of_garbage_bytes_is_reported_as_damaged(tmp_path: Path) -> None:
    (tmp_path / "CURRENT").write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(KnowledgeError, match=r"CURRENT: damaged .*kb rebuild"):
        SnapshotStore(tmp_path).current()


def test_a_missing_pointer_beside_snapshots_is_not_an_empty_index(tmp_path: Path) -> None:
    (tmp_path / "snap-000003").mkdir()
    (tmp_path / "snap-000007").mkdir()
    store = SnapshotStore(tmp_path)
    with pytest.raises(KnowledgeError, match="snapshot snap-000007 is still there"):
        store.current()
    assert [path.name for path in store.recovery_candidates()] == ["snap-000007", "snap-000003"]


def test_recovery_starts_with_the_snapshot_the_pointer_names(tmp_path: Path) -> None:
    for name in ("snap-000003", "snap-000007"):
        (tmp_path / name).mkdir()
    (tmp_path / "CURRENT").write_text("snap-000003\n")
    assert [path.name for path in SnapshotStore(tmp_path).recovery_candidates()] == ["snap-000003", "snap-000007"]
