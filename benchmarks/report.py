"""Turning measurements into rows, a table, JSON, a plot and the target check.

A row is one (case, system): the median, min and max over the rounds in the case's unit,
the ratio of the medians to hand-written NumPy's (when the case has one that means
something) and to PyTorch's (when PyTorch is installed and ran it), or ``na`` with the
reason a system could not run it.
"""
import json
import os
import statistics

from harness import SYSTEMS

# the systems a ratio is taken to by default: hand-written NumPy and PyTorch
REFERENCES = ("numpy", "torch")


def _is_hand(system):
    return system == "numpy" or system.startswith("hand-")


def summarize(cases, results, systems, refs=REFERENCES):
    """Rows (dicts) for every (case, system), in the cases' order and the systems'.

    Each row has the ratio of its median to each reference system's in ``ratios``
    (hand-written ones only where the case has a meaningful one: ``Case.vs_numpy``),
    and as ``ratio_numpy`` and ``ratio_torch`` those to NumPy by hand and PyTorch."""
    rows = []
    for case in cases:
        conv, med = {}, {}
        for s in systems:
            res = results[case.key].get(s)
            if res and res["samples"] and not res.get("na"):
                conv[s] = [v * case.scale / case.per for v in res["samples"]]
                med[s] = statistics.median(conv[s])
        for s in systems:
            res = results[case.key].get(s) or {"na": "not run"}
            row = {"case": case.key, "title": case.title, "system": s, "unit": case.unit,
                   "median": None, "min": None, "max": None, "ratio_numpy": None,
                   "ratio_torch": None, "number": res.get("number"),
                   "max_err": res.get("max_err"), "grad_dtypes": res.get("dtypes"),
                   "samples": conv.get(s, []), "na": res.get("na")}
            if res.get("method"):
                row["memory_method"] = res["method"]
            row["ratios"] = {}
            if s in med:
                row.update(median=med[s], min=min(conv[s]), max=max(conv[s]))
                for ref in set(refs) | set(REFERENCES):
                    if med.get(ref) and (case.vs_numpy or not _is_hand(ref)):
                        row["ratios"][ref] = med[s] / med[ref]
                row["ratio_numpy"] = row["ratios"].get("numpy")
                row["ratio_torch"] = row["ratios"].get("torch")
            elif not row["na"]:
                row["na"] = "no samples"
            rows.append(row)
    return rows


def _fmt(v):
    if v is None:
        return "-"
    if v == 0:
        return "0"
    return f"{v:#.3g}" if abs(v) < 100 else f"{v:.0f}"


def _ratio(v):
    return "-" if v is None else (f"{v:.2f}" if v < 100 else f"{v:.0f}")


def print_table(rows, with_torch, out=print, columns=None):
    """The table: one block per case, one line per system; n/a reasons as footnotes.

    ``columns``: the ratio columns as ``[(header, reference system), ...]``; by default
    NumPy by hand's, and PyTorch's ``with_torch``."""
    if columns is None:
        columns = [("x NumPy", "numpy")] + ([("x PyTorch", "torch")] if with_torch else [])
    head = ["workload", "system", "unit", "median", "min-max"] + [h for h, _ in columns]
    lines, last, notes = [], None, []
    for r in rows:
        label = f"{r['case']} {r['title']}" if r["case"] != last else ""
        if r["na"]:
            notes.append(f"[{len(notes) + 1}] {SYSTEMS[r['system']][1]}, {r['case']}: {r['na']}")
            cells = [label, SYSTEMS[r["system"]][1], r["unit"], f"n/a [{len(notes)}]", ""]
            cells += [""] * len(columns)
        else:
            cells = [label, SYSTEMS[r["system"]][1], r["unit"], _fmt(r["median"]),
                     f"{_fmt(r['min'])}-{_fmt(r['max'])}"]
            cells += [_ratio(r.get("ratios", {}).get(ref)) for _, ref in columns]
        lines.append(cells)
        last = r["case"]
    widths = [max(len(c) for c in col) for col in zip(head, *lines)]
    numeric = set(range(3, len(head)))

    def fmt(cells):
        return "  ".join(c.rjust(w) if i in numeric else c.ljust(w)
                         for i, (c, w) in enumerate(zip(cells, widths))).rstrip()
    out(fmt(head))
    out("  ".join("-" * w for w in widths))
    for i, cells in enumerate(lines):
        if i and cells[0]:
            out("")
        out(fmt(cells))
    if notes:
        out("")
        for n in notes:
            out(n)


def write_json(path, payload):
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "w") as fh:
        json.dump(payload, fh, indent=1)


def plot_ratios(rows, path, title="Ratio to hand-written NumPy (median; lower is better)"):
    """A grouped bar chart, log scale: per workload, one bar per system, its ratio to NumPy."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cases = []
    for r in rows:
        if r["ratio_numpy"] is not None and r["case"] not in cases:
            cases.append(r["case"])
    systems = [s for s in SYSTEMS if any(r["system"] == s for r in rows) and s != "numpy"]
    ratio = {(r["case"], r["system"]): r["ratio_numpy"] for r in rows}
    na = {(r["case"], r["system"]) for r in rows if r["na"]}
    width = 0.8 / max(1, len(systems))
    fig, ax = plt.subplots(figsize=(min(14, max(7, 0.3 * len(cases) * max(1, len(systems)) + 2)), 5))
    colors = {"xpgrad": "#d62728", "torch": "#1f77b4", "autograd": "#2ca02c", "mygrad": "#9467bd"}
    for i, s in enumerate(systems):
        xs = [j + (i - (len(systems) - 1) / 2) * width for j in range(len(cases))]
        vals = [ratio.get((c, s)) for c in cases]
        bars = ax.bar([x for x, v in zip(xs, vals) if v], [v for v in vals if v], width,
                      label=SYSTEMS[s][1], color=colors.get(s))
        for b in bars:
            v = b.get_height()
            ax.annotate(f"{v:.3g}" if v < 10 else f"{v:.0f}", (b.get_x() + b.get_width() / 2, v), ha="center",
                        va="bottom", fontsize=6, rotation=90, xytext=(0, 2),
                        textcoords="offset points")
        for x, c, v in zip(xs, cases, vals):
            if v is None and (c, s) in na:
                ax.annotate("n/a", (x, 1), ha="center", va="bottom", fontsize=6, rotation=90)
    ax.axhline(1.0, color="black", linewidth=0.8, linestyle="--")
    ax.set_yscale("log")
    ax.set_xticks(range(len(cases)))
    ax.set_xticklabels(cases, rotation=30, ha="right")
    ax.set_ylabel("time (or memory) / NumPy's, log scale")
    ax.set_title(title)
    ax.legend(fontsize=8)
    ax.grid(axis="y", which="both", alpha=0.3)
    fig.tight_layout()
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)


# ---------------------------------------------------------------------- targets


def _get(rows, case, system="xpgrad"):
    for r in rows:
        if r["case"] == case and r["system"] == system:
            return r
    return None


def evaluate_targets(rows):
    """xpgrad's targets, each as {"target", "met" (True / False / None: not measured), "detail"}."""
    out = []

    def add(target, met, detail):
        out.append({"target": target, "met": met, "detail": detail})

    def med(case, system="xpgrad"):
        r = _get(rows, case, system)
        return None if r is None or r["na"] else r["median"]

    def na_reason(case, system="xpgrad"):
        r = _get(rows, case, system)
        return "not run" if r is None else r["na"]

    cases = {r["case"] for r in rows}
    for key in sorted(k for k in cases if k.startswith("A")):
        x, t = med(key), med(key, "torch")
        if x is None or t is None:
            add(f"{key}: per-op overhead at or below PyTorch's", None,
                f"xpgrad {_fmt(x)}, PyTorch {_fmt(t)} us/op")
        else:
            add(f"{key}: per-op overhead at or below PyTorch's", x <= t,
                f"xpgrad {_fmt(x)} us/op vs PyTorch {_fmt(t)} us/op ({x / t:.2f}x)")
    r = _get(rows, "B-small")
    if r and r["ratio_numpy"] is not None:
        add("B-small: within 1.25x of hand-written NumPy", r["ratio_numpy"] <= 1.25,
            f"xpgrad {_fmt(r['median'])} {r['unit']} = {r['ratio_numpy']:.2f}x NumPy")
    for key in sorted(k for k in cases if (k.startswith("B-") and k != "B-small") or k == "C"):
        r = _get(rows, key)
        if r and r["ratio_numpy"] is not None:
            add(f"{key}: within 1.10x of hand-written NumPy", r["ratio_numpy"] <= 1.10,
                f"xpgrad {_fmt(r['median'])} {r['unit']} = {r['ratio_numpy']:.2f}x NumPy")
        if key == "B-float32" and r and r["grad_dtypes"]:
            ok = all(d == "float32" for d in r["grad_dtypes"])
            add("B-float32: gradients stay float32", ok, ", ".join(r["grad_dtypes"]))
    r = _get(rows, "C-mem")
    if r and r["ratio_numpy"] is not None:
        add("C: peak memory within 1.25x of hand-written NumPy", r["ratio_numpy"] <= 1.25,
            f"xpgrad +{_fmt(r['median'])} MB = {r['ratio_numpy']:.2f}x NumPy")
    for key in sorted(k for k in cases if k.startswith("D-") and k.count("-") == 1):
        x, t = med(key), med(key, "torch")
        if x is None:
            add(f"{key}: runs", False, na_reason(key))
            continue
        if t is None:
            add(f"{key}: time at or below PyTorch's", None, f"PyTorch: {na_reason(key, 'torch')}")
        else:
            add(f"{key}: time at or below PyTorch's", x <= t,
                f"xpgrad {_fmt(x)} s vs PyTorch {_fmt(t)} s ({x / t:.2f}x)")
        b = med(f"{key}-node")
        if b is not None:
            add(f"{key}: under 1 KB per node", b < 1024, f"xpgrad {b:.0f} B/node")
    if any(k.startswith("D-") for k in cases):
        big = med("D-1e6")
        add("D: 10^6 ops work", big is not None if "D-1e6" in cases else None,
            "ran" if big is not None else na_reason("D-1e6") if "D-1e6" in cases else "not run (--quick?)")
    x, t = med("E"), med("E", "torch")
    if "E" in cases:
        add("E: HVP at or below PyTorch's time", None if x is None or t is None else x <= t,
            f"xpgrad {_fmt(x)} us vs PyTorch {_fmt(t)} us"
            + (f" ({x / t:.2f}x)" if x and t else ""))
    r = _get(rows, "F")
    if r and r["ratio_numpy"] is not None:
        first = _get(rows, "F-first")
        note = ("" if not first or first["ratio_numpy"] is None else
                f" (import + first gradient: {_fmt(first['median'])} ms = "
                f"{first['ratio_numpy']:.2f}x NumPy's)")
        add("F: import within 2x of import numpy", r["ratio_numpy"] <= 2.0,
            f"xpgrad {_fmt(r['median'])} ms = {r['ratio_numpy']:.2f}x numpy's" + note)
    return out


# --backend torch: xpgrad on torch tensors against PyTorch's own autograd
TORCH_LIMITS = {"A1": 1.25, "A2": 1.25, "B-float32": 1.10, "B-float64": 1.10, "C": 1.10}


def evaluate_backend_targets(rows, name):
    """The targets of ``--backend NAME`` (not NumPy's: :func:`evaluate_targets`):
    on torch, A within 1.25x of PyTorch's autograd and B, C within 1.10x; on every
    library, C's peak memory within 1.25x of the same written by hand in it."""
    out, system, hand = [], f"xpgrad-{name}", f"hand-{name}"

    def add(target, met, detail):
        out.append({"target": target, "met": met, "detail": detail})
    if name == "torch":
        for key, limit in TORCH_LIMITS.items():
            r = _get(rows, key, system)
            if r is None:
                continue
            ratio = r.get("ratios", {}).get("torch")
            add(f"{key}: within {limit:.2f}x of PyTorch's autograd", None if ratio is None else ratio <= limit,
                r["na"] or (f"xpgrad {_fmt(r['median'])} {r['unit']} = {ratio:.2f}x PyTorch"
                            if ratio is not None else "PyTorch did not run"))
    r = _get(rows, "C-mem", system)
    if r is not None:
        ratio = r.get("ratios", {}).get(hand)
        add(f"C: peak memory within 1.25x of {SYSTEMS[hand][1]}", None if ratio is None else ratio <= 1.25,
            r["na"] or (f"xpgrad +{_fmt(r['median'])} MB = {ratio:.2f}x" if ratio is not None
                        else f"{SYSTEMS[hand][1]} did not run"))
    return out


def print_targets(targets, out=print):
    out("xpgrad's targets:")
    for t in targets:
        mark = {True: "met    ", False: "NOT MET", None: "n/a    "}[t["met"]]
        out(f"  [{mark}] {t['target']}: {t['detail']}")


def print_checks(cases, results, systems, out=print):
    """The gradient checks' worst errors, and whether float32 gradients stayed float32."""
    out("gradients checked against hand-written NumPy (max |diff| / max |grad|):")
    seen = set()
    for case in cases:
        if not case.grad_names or (case.group and case.group in seen):
            continue  # F has no gradients; a child run's cases share one check
        seen.add(case.group)
        errs = []
        for s in systems:
            res = results[case.key].get(s)
            if s == "numpy" or res is None:
                continue
            errs.append(f"{s} n/a" if res["na"] or res["max_err"] is None
                        else f"{s} {res['max_err']:.1e}")
        out(f"  {case.key}: {', '.join(errs)}")
    for case in cases:
        if case.dtype.name != "float32":
            continue
        out(f"float32 gradients come out float32 ({case.key}):")
        for s in systems:
            res = results[case.key].get(s)
            if res is None or res["na"]:
                continue
            dtypes = res["dtypes"]
            ok = all(d == "float32" for d in dtypes)
            out(f"  {s}: {'yes' if ok else 'NO: ' + ', '.join(f'{n} {d}' for n, d in zip(case.grad_names, dtypes))}")
