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

TASKS = {
    "movielens": ["--interactions", "movielens.interactions.csv", "--tags", "movielens.tags.csv",
                  "--offers", "items", "--protocol", "leave-last-out", "--related", "20", "--tag-weight", "0.1"],
    "instacart-aisles": ["--interactions", "instacart.interactions.csv", "--tags", "instacart.tags.csv",
                         "--offers", "tag:aisle:", "--protocol", "next-basket:3", "--buy-again"],
    "instacart-products": ["--interactions", "instacart.interactions.csv", "--tags", "instacart.tags.csv",
                           "--offers", "top-items:500", "--protocol", "next-basket:3", "--buy-again"],
}

# The grid searched one parameter at a time (two passes), starting from the current defaults.
GRID = {
    "popularity": [0.1, 0.3, 1, 3],
    "repeat": [0, 1, 2, 3, 5],
    "item": [1, 3, 10, 20, 30],
    "affinity": [0.3, 0.5, 1],
    "saturation": [3, 10, 20, 30, 50],
    "half-life-days": [14, 30, 60, 90],
    "retention-days": [90, 180, 365],
    "diversity": [0, 0.1, 0.5],
    "exploration": [0.02, 0.05],
}


def replay(task, half, params, extra=()):
    args = list(TASKS[task])
    for i in (1, 3):
        args[i] = os.path.join(DATA, args[i])
    cmd = [TOOL, "replay", *args, "--half", half, "--csv", *extra]
    for k, v in params.items():
        cmd += [f"--{k}", str(v)]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    rows = {}
    for line in out.strip().splitlines():
        name, trials, h1, h5, h10, shown = line.split(",")
        rows[name] = dict(trials=int(trials), hr1=float(h1), hr5=float(h5), hr10=float(h10), shown=int(shown))
    return rows


def margin(rows):
    """How far the engine is ahead of the best baseline (worst of HR@1 and HR@10, as a ratio)."""
    e = rows["engine"]
    best1 = max(rows[b]["hr1"] for b in ("popularity", "buy again", "random"))
    best10 = max(rows[b]["hr10"] for b in ("popularity", "buy again", "random"))
    return min(e["hr1"] / max(best1, 1e-9), e["hr10"] / max(best10, 1e-9))


def objective(params, tasks):
    return min(margin(replay(t, "tune", params)) for t in tasks)


def table(task, rows, catalog_note=""):
    print(f"\n{task} (reporting half{catalog_note})\n")
    print("| method | trials | HR@1 | HR@5 | HR@10 | offers shown |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for name in ("engine", "popularity", "buy again", "random"):
        r = rows[name]
        print(f"| {name} | {r['trials']} | {r['hr1']:.4f} | {r['hr5']:.4f} | {r['hr10']:.4f} | {r['shown']} |")


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
            table(t + ", first 60 users", rows)
            e, rnd = rows["engine"], rows["random"]
            if e["trials"] == 0 or e["hr10"] <= rnd["hr10"]:
                print(f"SMOKE FAILED: {t}: the engine does not beat random", file=sys.stderr)
                ok = False
        sys.exit(0 if ok else 1)
    if not args.report:
        params = {}
        best = objective(params, tasks)
        print(f"[tune] defaults: worst margin over the best baseline {best:.4f}", flush=True)
        for _ in range(2):
            for key, values in GRID.items():
                for v in values:
                    trial = dict(params, **{key: v})
                    score = objective(trial, tasks)
                    print(f"[tune] {trial}: {score:.4f}", flush=True)
                    if score > best + 1e-9:
                        best, params = score, trial
        print(f"\n[tune] chosen on the tuning half: {params} (worst margin {best:.4f})")
        print("[tune] set these as the defaults in src/rank.rs and src/profile.rs, then run --report")
    print("\n## The shipped defaults on the reporting half")
    for t in tasks:
        table(t, replay(t, "report", {}))


if __name__ == "__main__":
    main()
