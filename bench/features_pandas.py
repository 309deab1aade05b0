#!/usr/bin/env python3
"""The feature benchmark's pandas baseline (bench/features.sh).

usage: features_pandas.py SET.json EVENTS.csv FROM_US TO_US EVERY_US OUT.csv

Computes the feature set (canonical JSON from `telltale features show
--output json`) the way a pandas user would: per-vehicle time-based rolling
windows (window (t - W, t], closed='right') over the events with the spine
rows inserted, numpy searchsorted for first/last, rolling sums for slopes.
Prints "load_seconds compute_seconds". Writes vehicle_id, ts (µs) and the
features as CSV (empty = missing)."""
import json
import sys
import time

import numpy as np
import pandas as pd


def main():
    setpath, events, t_from, t_to, every, out = sys.argv[1:7]
    t_from, t_to, every = int(t_from), int(t_to), int(every)
    spec = json.load(open(setpath))
    spec = spec.get("definition", spec)
    feats = spec["features"]
    run_col = spec["filter"].split()[0] if spec.get("filter") else None

    t0 = time.monotonic()
    df = pd.read_csv(events)
    df["ts"] = pd.to_datetime(df["ts"], utc=True)
    t1 = time.monotonic()

    vehicles = df["vehicle_id"].unique()
    spine_t = pd.to_datetime(np.arange(t_from, t_to + 1, every), unit="us", utc=True)
    spine = pd.DataFrame({"vehicle_id": np.repeat(vehicles, len(spine_t)),
                          "ts": np.tile(spine_t, len(vehicles))})
    spine["_spine"] = True
    df["_spine"] = False
    cols = sorted({f["column"] for f in feats if f["column"]})
    run = df[run_col].astype(bool) if run_col else pd.Series(True, index=df.index)
    for c in cols:  # the filter: values of rows that do not pass are missing
        df[c] = df[c].where(run)
    df["_row"] = np.where(run, 1.0, np.nan)
    allr = pd.concat([df[["vehicle_id", "ts", "_spine", "_row"] + cols], spine], ignore_index=True)
    allr = allr.sort_values(["vehicle_id", "ts", "_spine"], kind="mergesort").reset_index(drop=True)
    allr["_t"] = allr["ts"].astype("int64") // 1000  # ns -> µs
    is_spine = allr["_spine"].to_numpy(dtype=bool)
    result = allr.loc[is_spine, ["vehicle_id", "_t"]].reset_index(drop=True)
    g = allr.groupby("vehicle_id", sort=False)
    for f in feats:
        name, agg, col, w = f["name"], f["agg"], f["column"] or "_row", f["window"]
        win = pd.Timedelta(microseconds=w)
        roll = g.rolling(win, on="ts", closed="right")[col] if agg != "slope" else None
        if agg == "count":
            v = roll.count()
        elif agg == "sum":
            v = roll.sum().fillna(0.0)
        elif agg == "mean":
            v = roll.mean()
        elif agg == "min":
            v = roll.min()
        elif agg == "max":
            v = roll.max()
        elif agg == "std":
            v = roll.std(ddof=0)
        elif agg in ("first", "last", "delta"):
            v = None
        elif agg == "slope":
            x = allr[col]
            tt = (allr["_t"] - 1767225600000000).astype(float).where(x.notna())
            tmp = pd.DataFrame({"vehicle_id": allr["vehicle_id"], "ts": allr["ts"], "x": x, "t": tt,
                                "tx": tt * x, "t2": tt * tt})
            r = tmp.groupby("vehicle_id", sort=False).rolling(win, on="ts", closed="right")
            s = r[["x", "t", "tx", "t2"]].sum()
            n = r["x"].count()
            num = n.to_numpy() * s["tx"].to_numpy() - s["t"].to_numpy() * s["x"].to_numpy()
            den = n.to_numpy() * s["t2"].to_numpy() - s["t"].to_numpy() ** 2
            with np.errstate(divide="ignore", invalid="ignore"):
                sl = np.where((n.to_numpy() >= 2) & (den > 0), num / den * f["per"], np.nan)
            result[name] = sl[is_spine]
            continue
        if v is not None:
            result[name] = v.to_numpy()[is_spine]
            continue
        # first / last / delta: per vehicle, searchsorted over the valid events.
        vals = np.full(len(result), np.nan)
        firsts = np.full(len(result), np.nan)
        pos = 0
        for veh, grp in g:
            ev = grp[grp[col].notna() & ~grp["_spine"]]
            et, ex = ev["_t"].to_numpy(), ev[col].to_numpy()
            sp = grp.loc[grp["_spine"], "_t"].to_numpy()
            hi = np.searchsorted(et, sp, side="right")
            lo = np.searchsorted(et, sp - w, side="right")
            ok = hi > lo
            last = np.where(ok, ex[np.clip(hi - 1, 0, max(len(ex) - 1, 0))] if len(ex) else np.nan, np.nan)
            first = np.where(ok, ex[np.clip(lo, 0, max(len(ex) - 1, 0))] if len(ex) else np.nan, np.nan)
            vals[pos:pos + len(sp)] = last
            firsts[pos:pos + len(sp)] = first
            pos += len(sp)
        result[name] = {"first": firsts, "last": vals, "delta": vals - firsts}[agg]
    t2 = time.monotonic()
    result = result.rename(columns={"_t": "ts"})
    result.to_csv(out, index=False, na_rep="")
    print(f"{t1 - t0:.3f} {t2 - t1:.3f}")


if __name__ == "__main__":
    main()
