"""A longer fuzz than the suite's (tests/format/test_fuzz.py): many seeded mutations of every golden file.

    python benchmarks/fuzz.py --per-kind 200 --seed 1

Writes benchmarks/results/fuzz.json: mutations tried per file and every misbehaviour found (none is the goal).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from bbvae import api
from bbvae.bench import fuzz

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-kind", type=int, default=200, help="mutations of each kind per file")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    files = {str(p.relative_to(ROOT)): p.read_bytes() for p in sorted((ROOT / "tests" / "data").rglob("*.bbv"))}
    start = time.perf_counter()
    found = fuzz.fuzz(files, lambda data: api.decompress_container(data), args.per_kind, args.seed)
    result = {"files": sorted(files), "kinds": list(fuzz.KINDS), "per_kind": args.per_kind, "seed": args.seed,
              "mutations": len(files) * len(fuzz.KINDS) * args.per_kind, "misbehaviours": found,
              "seconds": round(time.perf_counter() - start, 1)}
    out = ROOT / "benchmarks" / "results" / "fuzz.json"
    out.write_text(json.dumps(result, indent=1) + "\n")
    print(f"{result['mutations']} mutations, {len(found)} misbehaviour(s), {result['seconds']} s -> {out}")


if __name__ == "__main__":
    main()
