"""Count the distinct NAS-Bench-101 graphs each NAS-Bench-1Shot1 space's discretisation can produce.

Space 3 has 1,312,200 configurations (a few minutes on one core), so its count is a script, not a test.
Usage: python3 bench/bench_nb1shot1_counts.py [space ...]
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from balenas.spaces.nb1shot1 import SPACE_CLASSES, count_distinct_graphs  # noqa: E402

PAPER = {"nb1shot1-s1": 6_240, "nb1shot1-s2": 29_160, "nb1shot1-s3": 363_648}


def main(names: list[str]) -> None:
    for name in names or list(SPACE_CLASSES):
        start = time.perf_counter()
        count = count_distinct_graphs(SPACE_CLASSES[name]())
        print(
            f"{name}: configurations {count.configurations}, labelled pruned cells {count.labelled_graphs}, "
            f"distinct NB-101 hashes {count.distinct_graphs}, paper {PAPER[name]} "
            f"({time.perf_counter() - start:.1f} s)",
            flush=True,
        )


if __name__ == "__main__":
    main(sys.argv[1:])
