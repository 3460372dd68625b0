from datetime import timedelta
from threading import Thread

from bot.store.database import Database
from bot.store.deliveries import Deliveries


def test_first_claim_wins_and_sources_are_separate(tmp_path):
    deliveries = Deliveries(Database(f"sqlite:///{tmp_path / 'db.sqlite'}"))
    assert deliveries.claim("slack", "Ev1")
    assert not deliveries.claim("slack", "Ev1")
    assert deliveries.claim("webhook", "Ev1")


def test_two_workers_on_one_database_agree(tmp_path):
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    workers = [Deliveries(Database(url)) for _ in range(4)]
    results: list[bool] = []

    def claim(worker: Deliveries) -> None:
        results.extend(worker.claim("slack", f"Ev{i}") for i in range(20))

    threads = [Thread(target=claim, args=(w,)) for w in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results.count(True) == 20


def test_forget_older_than(tmp_path):
    deliveries = Deliveries(Database(f"sqlite:///{tmp_path / 'db.sqlite'}"))
    deliveries.claim("slack", "Ev1")
    assert deliveries.forget_older_than(timedelta(hours=1)) == 0
    assert deliveries.forget_older_than(timedelta(seconds=-1)) == 1
    assert deliveries.claim("slack", "Ev1")
