#!/usr/bin/env python3
"""What item relations add to a catalog, in bytes of JSON and of the binary form.

    python3 eval/relations_bytes.py

For the demo catalog (www/offers.json) and for the 10,000-offer catalog of bench/run.mjs (the
same seeded generator), it writes a seeded, synthetic interactions file (shoppers who keep to a
few neighbourhoods of items, so that every offer gets a full list), runs
`pocketrank-tool relate` at 32 related items per offer (the limit, so the most bytes) and at 8,
packs each result with `pocketrank-tool pack`, and prints the sizes. Synthetic data says nothing
about quality; only the sizes are read from it.
"""
import json
import os
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TOOL = os.path.join(ROOT, "target", "release", "pocketrank-tool")
MASK = (1 << 64) - 1


def rng(seed):
    """bench/run.mjs's SplitMix64, so that the 10,000-offer catalog is the benchmark's."""
    s = seed

    def next_float():
        nonlocal s
        s = (s + 0x9E3779B97F4A7C15) & MASK
        z = s
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
        return ((z ^ (z >> 31)) >> 11) / 2**53

    return next_float


VOCAB = [f"{['category', 'brand', 'style', 'use'][i % 4]}:t{i}" for i in range(500)]


def js_round(x):
    return int(x + 0.5) if x >= 0 else -int(-x + 0.5)


def bench_catalog(n, seed):
    r = rng(seed)
    offers = []
    for i in range(n):
        tags = {}
        while len(tags) < 8:
            tag = VOCAB[int(r() * len(VOCAB))]
            tags[tag] = js_round(r() * 1000) / 1000 or 0.5
        item = f"sku-{int(r() * n * 2)}"
        popularity = js_round(r() * 1000) / 1000
        boost = js_round((r() - 0.5) * 200) / 1000
        offers.append({"id": f"OFFER-{i}", "tags": tags, "items": [item], "popularity": popularity, "boost": boost})
    return {"version": 1, "id": f"bench-{n}", "offers": offers}


def interactions(items, shoppers, per_shopper, seed):
    """Shoppers who each keep to one neighbourhood of the item list (a window of 40 items)."""
    r = rng(seed)
    lines = ["user,item,timestamp,kind"]
    for u in range(shoppers):
        centre = int(r() * len(items))
        for k in range(per_shopper):
            item = items[(centre + int(r() * 40)) % len(items)]
            lines.append(f"u{u},{item},{1_700_000_000 + u * 100 + k},view")
    return "\n".join(lines) + "\n"


def sizes(catalog_path, sales_path, top, tmp):
    out = os.path.join(tmp, f"related-{top}.json")
    subprocess.run([TOOL, "relate", catalog_path, sales_path, out, str(top)], check=True, capture_output=True)
    packed = os.path.join(tmp, f"related-{top}.bin")
    subprocess.run([TOOL, "pack", out, packed], check=True, capture_output=True)
    offers = json.load(open(out))["offers"]
    related = sum(len(o.get("related", {})) for o in offers)
    # The bytes of the `"related":{…}` members themselves, as written (the rest of the file is
    # the same catalog, whatever the serializer's number formatting).
    added = sum(len(',"related":') + len(json.dumps(o["related"], separators=(",", ":"), ensure_ascii=False))
                for o in offers if "related" in o)
    return added, os.path.getsize(packed), related


def measure(name, catalog, sales):
    with tempfile.TemporaryDirectory() as tmp:
        # The catalog as compact JSON (as `relate` writes it), so that only the relations differ.
        base = os.path.join(tmp, "catalog.json")
        with open(base, "w") as f:
            json.dump(catalog, f, separators=(",", ":"), ensure_ascii=False)
        sales_path = os.path.join(tmp, "sales.csv")
        with open(sales_path, "w") as f:
            f.write(sales)
        plain_bin = os.path.join(tmp, "plain.bin")
        subprocess.run([TOOL, "pack", base, plain_bin], check=True, capture_output=True)
        j0, b0 = os.path.getsize(base), os.path.getsize(plain_bin)
        for top in (8, 32):
            added, b, rel = sizes(base, sales_path, top, tmp)
            j = j0 + added
            print(f"| {name} | {len(catalog['offers']):,} | {top} | {rel:,} | {j0:,} | {j:,} | +{j - j0:,} | "
                  f"{b0:,} | {b:,} | +{b - b0:,} | {(b - b0) / max(rel, 1):.1f} |")


def main():
    subprocess.run(["cargo", "build", "--release", "--quiet", "--bin", "pocketrank-tool"], check=True, cwd=ROOT)
    print("| catalog | offers | related per offer (at most) | relations | JSON bytes | with relations | added | "
          "binary bytes | with relations | added | binary bytes per relation |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    demo = json.load(open(os.path.join(ROOT, "www", "offers.json")))
    demo_items = sorted({i for o in demo["offers"] for i in o.get("items", [])})
    measure("demo (www/offers.json)", demo, interactions(demo_items, 500, 6, 7))
    big = bench_catalog(10_000, 10_000)
    big_items = sorted({i for o in big["offers"] for i in o["items"]}, key=lambda s: int(s[4:]))
    measure("bench/run.mjs, 10,000 offers", big, interactions(big_items, 20_000, 12, 11))


if __name__ == "__main__":
    sys.exit(main())
