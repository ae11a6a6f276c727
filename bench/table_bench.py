"""Table write benchmark: our ``TableStore.save_recommendations`` (Recommendation objects in,
entities converted, limits enforced, batched, parallel) against a bare ``submit_transaction``
loop writing the same, pre-built entities to the same Azurite in the same run."""

from __future__ import annotations

import statistics
import time
import uuid

from azure.data.tables import TableServiceClient, UpdateMode

from devhost.azurite import Azurite
from shared.table_store import TableStore, recommendation_to_entity
from tests.conftest import make_recommendation


def _recommendations(n: int):
    subs = [str(uuid.UUID(int=s + 1)) for s in range(4)]
    cats = ("cost", "security", "reliability", "performance", "operational_excellence")
    return [make_recommendation(i, subscription=subs[i % 4], category=cats[i % 5]) for i in range(n)]


def _bare_loop(service: TableServiceClient, table: str, entities: list[dict]) -> float:
    client = service.get_table_client(table)
    started = time.perf_counter()
    for start in range(0, len(entities), 100):
        client.submit_transaction(
            [("upsert", e, {"mode": UpdateMode.REPLACE}) for e in entities[start : start + 100]]
        )
    return time.perf_counter() - started


def run(ns=(1000, 5000, 15000), reps: int = 3, workers: int = 4) -> list[dict]:
    rows = []
    with Azurite(in_memory=True) as azurite:
        service = TableServiceClient.from_connection_string(azurite.connection_string)
        for n in ns:
            recs = _recommendations(n)
            ours, bare = [], []
            for rep in range(reps):
                table = f"bench{n}r{rep}"
                store = TableStore(
                    azurite.connection_string, recommendations_table=table, write_workers=workers
                )
                store.table(table)  # create outside the timing, as the bare loop's table is
                started = time.perf_counter()
                written = store.save_recommendations(f"ours{rep}", recs)
                ours.append(time.perf_counter() - started)
                assert written == n
                entities = [recommendation_to_entity(f"bare{rep}", r) for r in recs]
                service.create_table_if_not_exists(table)
                bare.append(_bare_loop(service, table, entities))
            ours_rate = n / statistics.median(ours)
            bare_rate = n / statistics.median(bare)
            rows.append(
                {"n": n, "ours_per_s": ours_rate, "bare_per_s": bare_rate, "ratio": ours_rate / bare_rate}
            )
    return rows


def print_rows(rows: list[dict]) -> None:
    print("\nTable writes to Azurite (entities/s, median of runs)")
    print("bare = a plain submit_transaction loop writing the same entities, in the same run")
    print(f"{'N':>7} {'ours/s':>9} {'bare/s':>9} {'ours/bare':>9}")
    for r in rows:
        print(f"{r['n']:>7} {r['ours_per_s']:>9.0f} {r['bare_per_s']:>9.0f} {r['ratio']:>8.0%}")


if __name__ == "__main__":
    print_rows(run())
