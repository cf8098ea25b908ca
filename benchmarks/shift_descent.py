"""The scale-shift search's descent against the full search, on a folder of photographs.

    python benchmarks/shift_descent.py FOLDER [--model NAME] [--jobs N] [--json]

The encoder chooses each patch and channel's log-scale shift by descent from no shift
(bbvae/codecs/scale_shifts.py), which is the full search's choice wherever the costs fall to one minimum
and rise from it. For every group that compressing each photograph searches (no check; `--jobs 2` codes a
photograph of 512 rows or more in two bands, whose groups differ), this
run also computes the cost of every shift with the same kernel (a descent from each shift in turn, which
computes each cost as the encoder's search does) and counts the groups with one minimum, the groups where
the descent's choice differs from the least cost, the bits that difference costs, and the shifts the
descent computed. Run it on validation photographs (`bbvae photoset OUT` writes OUT/validation).
Results: benchmarks/results/shift_descent.{json,md}.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from bbvae.models.defaults import PHOTO_MODEL


def main():
    import bbvae
    from bbvae.bench.report import publish
    from bbvae.codecs import scale_shifts
    from bbvae.datasets.sources import folder_files
    from bbvae.io.images import read_image

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--model", default=PHOTO_MODEL, help=f"default: {PHOTO_MODEL}")
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--json", action="store_true", help="also print the summary as one JSON line")
    args = parser.parse_args()
    searched = []
    descent = scale_shifts.best_shifts

    def recording(pixels, groups, count):
        chosen, costs = scale_shifts.shift_search(pixels, groups, count)
        every = np.full_like(costs, np.nan)
        for start in range(scale_shifts.SHIFT_COUNT):
            every = np.fmax(every, scale_shifts.shift_search(pixels, groups, count, start)[1])
        searched.append((chosen, costs, every))
        return descent(pixels, groups, count)

    scale_shifts.best_shifts = recording
    rows = []
    for path in folder_files(str(args.folder)):
        searched.clear()
        bbvae.compress([read_image(path)], args.model, jobs=args.jobs, verify=False)
        chosen = np.concatenate([c for c, _, _ in searched])
        computed = np.concatenate([costs for _, costs, _ in searched])
        every = np.concatenate([e for _, _, e in searched])
        least = np.argmin(every, axis=1)
        groups = np.arange(len(chosen))
        rows.append({"photo": Path(path).name, "groups": len(chosen),
                     "one_minimum": int(sum(scale_shifts.one_minimum(row) for row in every)),
                     "descent_differs": int(np.sum(chosen != least)),
                     "bits_lost": float((every[groups, chosen] - every[groups, least]).sum() / np.log(2)),
                     "shifts_computed_mean": float(np.mean(np.sum(~np.isnan(computed), axis=1)))})
    total = {key: sum(row[key] for row in rows) for key in ("groups", "one_minimum", "descent_differs", "bits_lost")}
    total["shifts_computed_mean"] = sum(row["shifts_computed_mean"] * row["groups"] for row in rows) / total["groups"]
    total["full_search_shifts"] = scale_shifts.SHIFT_COUNT
    publish("shift_descent", {"photos": len(rows), "folder": str(args.folder), "model": args.model, "jobs": args.jobs,
                              **total}, rows,
            args.json)


if __name__ == "__main__":
    main()
