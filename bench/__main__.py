"""``make bench``: every benchmark in one run, figures printed as medians and ratios.

0. Input side: parsing the portal CSV, refusing a hostile one, summarizing 15,000 rows.
1. Table writes: ours against a bare submit_transaction loop (N = 1,000 / 5,000 / 15,000).
2. Rendering: HTML and PDF seconds and peak memory against reportlab directly (same N).
3. End to end on devhost: 50 subscriptions x 300 recommendations, overhead, history size, with
   activities in threads of one process as the Python worker runs them (``--processes`` adds
   the same run with worker processes, for comparison).
4. History size per subscription as subscriptions and recommendations per subscription grow.
"""

from __future__ import annotations

import logging
import sys
import time


def main() -> int:
    # Imported here, not at the top: the render benchmark's spawned workers re-import this
    # module, and the devhost stack's imports would inflate the peak memory they report.
    from bench import e2e_bench, parse_bench, render_bench, table_bench

    logging.basicConfig(level=logging.WARNING)
    started = time.perf_counter()
    parse_bench.print_rows(parse_bench.run())
    table_bench.print_rows(table_bench.run())
    render_bench.print_rows(render_bench.run())
    e2e_bench.print_e2e(e2e_bench.end_to_end())
    if "--processes" in sys.argv[1:]:
        e2e_bench.print_e2e(e2e_bench.end_to_end(processes=True))
    e2e_bench.print_history(e2e_bench.history_series())
    print(f"\nmake bench took {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
