#!/usr/bin/env python3
"""Ranking quality on real shopping data: fetches the data, tunes the engine's defaults on one
half of the users, and reports engine and baselines on the other half.

    python3 eval/evaluate.py            # fetch, build, tune, report (a few minutes)
    python3 eval/evaluate.py --report   # only report the shipped defaults on the reporting half
    python3 eval/evaluate.py --smoke    # a small slice, for CI: fails if the harness breaks

Every number comes from `pocketrank-tool replay`, which feeds each shopper's history through the
engine's own event API and asks the engine's own ranking: this script only orchestrates.
"""
import argparse
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.path.join(ROOT, ".cache", "eval")
TOOL = os.path.join(ROOT, "target", "release", "pocketrank-tool")

# Every task's catalog carries relations (`related`: each offer with items lists its 32 nearest
# items, from the other half's shoppers); the item-kNN baselines use the whole similarity matrix.
COMMON = ["--related", "32", "--knn-last", "1,3,5,10,20"]
TASKS = {
    "movielens": ["--interactions", "movielens.interactions.csv", "--tags", "movielens.tags.csv",
                  "--offers", "items", "--protocol", "leave-last-out", "--tag-weight", "0.1", *COMMON],
    "instacart-aisles": ["--interactions", "instacart.interactions.csv", "--tags", "instacart.tags.csv",
                         "--offers", "tag:aisle:", "--protocol", "next-basket:3", "--buy-again", *COMMON],
    "instacart-products": ["--interactions", "instacart.interactions.csv", "--tags", "instacart.tags.csv",
                           "--offers", "top-items:500", "--protocol", "next-basket:3", "--buy-again", *COMMON],
}

# Tuning on MovieLens holds out each of the last 30 baskets of every tuning-half user in turn
# (`leave-last-out:30`, about 10,600 trials) instead of the last one only (456 trials, where
# one hit at HR@1 is 0.0022): the reporting half is still scored on the last basket only.
TUNE_EXTRA = {"movielens": ["--protocol", "leave-last-out:30"]}

# The grid searched one parameter at a time (two passes), starting from the current defaults.
GRID = {
    "related-weight": [0.4, 0.5, 0.7, 1],
    "recency": [0.7, 0.75, 0.8, 0.85, 0.9],
    "popularity": [0.1, 0.3, 1, 3],
    "repeat": [0, 1, 2, 3, 5],
    "item": [1, 3, 10, 20, 30],
    "affinity": [0.3, 0.5, 1],
    "saturation": [3, 10, 20, 30, 50],
    "half-life-days": [14, 30, 60, 90],
    "retention-days": [90, 180, 365],
    "diversity": [0, 0.5, 1],
    "exploration": [0.02, 0.05],
}


def command(task, half, params, extra=()):
    args = list(TASKS[task])
    for i in (1, 3):
        args[i] = os.path.join(DATA, args[i])
    cmd = [TOOL, "replay", *args, "--half", half, *extra]
    for k, v in params.items():
        cmd += [f"--{k}", str(v)]
    return cmd


def replay(task, half, params, extra=()):
    out = subprocess.run(command(task, half, params, ["--csv", *extra]), check=True,
                         capture_output=True, text=True).stdout
    rows = {}
    for line in out.strip().splitlines():
        f = line.split(",")
        rows[f[0]] = dict(trials=int(f[1]), hr1=float(f[2]), hr5=float(f[3]), hr10=float(f[4]), shown=int(f[5]))
    return rows


def knn_rows(rows):
    """The server-side item-kNN baselines (the diagnostic over the catalog's relations aside)."""
    return [r for name, r in rows.items() if name.startswith("item-kNN") and "catalog" not in name]


def margin(rows):
    """The issue's bar as one number, >= 1 when met: the engine at 95% of the best item-kNN and
    ahead of popularity and "buy again", at HR@1 and at HR@10 (the worst of the four ratios)."""
    e = rows["engine"]
    ratios = []
    for k in ("hr1", "hr10"):
        best_knn = max(r[k] for r in knn_rows(rows))
        best_base = max(rows[b][k] for b in ("popularity", "buy again"))
        ratios.append(e[k] / max(0.95 * best_knn, 1e-9))
        ratios.append(e[k] / max(best_base, 1e-9))
    return min(ratios)


def objective(params, tasks):
    return min(margin(replay(t, "tune", params, TUNE_EXTRA.get(t, []))) for t in tasks)


def table(task, rows, catalog_note=""):
    print(f"\n{task} ({catalog_note})\n")
    print("| method | trials | HR@1 | HR@5 | HR@10 | offers shown |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for name, r in rows.items():
        print(f"| {name} | {r['trials']} | {r['hr1']:.4f} | {r['hr5']:.4f} | {r['hr10']:.4f} | {r['shown']} |")


def report(task):
    """The tool's own table (figures with 95% intervals, and the engine's paired margins)."""
    cmd = command(task, "report", {})
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    shown = " ".join(os.path.relpath(c, ROOT) if os.path.isabs(c) else c for c in cmd)
    print(f"\n### {task}\n\n`{shown}`\n\n{out}")
    rows = replay(task, "report", {})
    print(f"The bar (engine ≥ 95% of the best item-kNN, ahead of popularity and buy again; ≥ 1 when met): {margin(rows):.3f}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--report", action="store_true")
    ap.add_argument("--smoke", action="store_true")
    args = ap.parse_args()
    subprocess.run([sys.executable, os.path.join(ROOT, "eval", "fetch_data.py")], check=True)
    subprocess.run(["cargo", "build", "--release", "--quiet", "--bin", "pocketrank-tool"], check=True, cwd=ROOT)
    tasks = list(TASKS)
    if args.smoke:
        ok = True
        for t in tasks:
            rows = replay(t, "report", {}, ["--max-users", "60"])
            table(t, rows, "first 60 users")
            e, rnd = rows["engine"], rows["random"]
            if e["trials"] == 0 or e["hr10"] <= rnd["hr10"]:
                print(f"SMOKE FAILED: {t}: the engine does not beat random", file=sys.stderr)
                ok = False
        sys.exit(0 if ok else 1)
    if not args.report:
        params = {}
        best = objective(params, tasks)
        print(f"[tune] defaults: the bar {best:.4f}", flush=True)
        for _ in range(2):
            for key, values in GRID.items():
                for v in values:
                    trial = dict(params, **{key: v})
                    score = objective(trial, tasks)
                    print(f"[tune] {trial}: {score:.4f}", flush=True)
                    if score > best + 1e-9:
                        best, params = score, trial
        print(f"\n[tune] chosen on the tuning half: {params} (the bar {best:.4f})")
        print("[tune] set these as the defaults in src/rank.rs and src/profile.rs, then run --report")
    print("\n## The shipped defaults on the reporting half")
    for t in tasks:
        report(t)


if __name__ == "__main__":
    main()
