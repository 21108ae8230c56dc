"""xpgrad's benchmark suite: every workload, every installed system, one table.

``python benchmarks/run.py`` runs workloads A to F and J for hand-written NumPy, xpgrad and, when
they can be imported, PyTorch, HIPS autograd and MyGrad, and prints one table: per
workload and system the median and the min-max over the rounds, the ratio of the median
to hand-written NumPy's and to PyTorch's, and "n/a" with the reason where a system cannot
run a workload (or ran past the time limit or the memory cap). Then it checks xpgrad's
performance targets against the numbers.

Workloads (float64 unless said; each module's docstring has the details):

A1, A2  per-op overhead: a 2000-op mul-add chain and a 1000-op sin/cos chain on 16
        elements, forward + backward, us per op (``overhead.py``);
B       one MLP training step (784-512-512-10, tanh, cross-entropy, batch 256), float32
        and float64, ms per step; B-small, a small model's step: 784-256-256-10, batch 64,
        float32, and a plain SGD update of its six parameters under no_grad
        (``overhead.py``);
C       ``sum(sin(x) * x + exp(-x * x))`` on 4,000,000 elements, forward + backward: time
        (ms) in process and in a fresh process (C-fresh), and peak memory above the
        resident baseline (MB) (``elementwise.py``);
D       a chain of 10^5 and 10^6 ``y = y * 1.0000001`` on 1 element, then backward: time
        (s), peak memory (MB) and bytes per recorded node (``chain.py``);
E       Hessian-vector product of ``sum(tanh(x) ** 2)`` on 1000 elements by double
        backward, us per HVP (``hvp.py``);
F       ``python -c "import <system>"`` wall time, ms, and the same with a first gradient
        taken (``F-first``) (``imports.py``);
J       whole Jacobians and Hessians: ``J-jac``, the Jacobian of ``tanh(W @ x + b)``,
        256 -> 256, and ``J-hess``, the Hessian of ``sum(tanh(A @ x) ** 2)``, 100 elements,
        by ``xpgrad.func.jacrev`` / ``hessian`` (vectorised, the default), by the same with
        ``vectorize=False`` (the system ``xpgrad-loop``, J's only), ``torch.func`` and HIPS
        autograd, ms per call (``jacobians.py``).

How it is measured: A, B, C's time, E and J run in this process: each system's gradients are
checked against the hand-written NumPy ones (the run aborts on a mismatch), each step is
warmed up, then the systems are interleaved round by round (their order rotating), each
sample lasting at least 0.1 s and starting from a trimmed heap, so that no system reuses
pages the one before it left (``harness.run_benchmark``). C's memory and all of D run in
one fresh child process per system and round (``child.py``), interleaved the same way;
the child warms up and checks the gradients on a small instance first, then measures one
call (time with ``perf_counter``, peak memory as the kernel's high-water mark of the
resident set after resetting it through ``/proc/self/clear_refs``), then checks the
full-size gradients. F times fresh interpreters. Every library runs on one thread
(``OMP_NUM_THREADS`` and friends default to 1 when this runs as a script).

Options: ``--quick`` (a smoke test: C on 10^5 elements, D with 10^4 ops only, 2 short
in-process rounds, one child per system for C's memory and D together, one interpreter
per system for F; about 15-30 s on 2 cores, most of it importing PyTorch), ``--rounds N``,
``--sub-rounds N``, ``--only A,C``, ``--systems xpgrad,xpgrad-loop,torch``, ``--j-sizes
256,100``, ``--json PATH``, ``--plot PATH`` (matplotlib, the ``bench`` extra), ``--profile``
(cProfile of xpgrad on C, D, E and J, and ``-X importtime`` of ``import xpgrad`` and of a
first gradient, instead of the benchmark).

``--backend NAMES`` (``numpy``, ``torch``, ``array_api_strict``, ``jax``, ``dask``,
``cupy``, or ``all``) runs A, B, C and E on each library's arrays in turn instead: xpgrad
on them against the same written by hand in that library and against its own autograd
(``libraries.py``), with the backend's targets and a profile of xpgrad's step;
``--update-docs`` writes those sections into docs/performance.md.
"""
import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

if __name__ == "__main__":  # before NumPy loads its BLAS (harness.THREAD_VARS)
    for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(_var, "1")

import baseline  # noqa: E402
import chain  # noqa: E402
import elementwise  # noqa: E402
import hvp  # noqa: E402
import imports  # noqa: E402
import jacobians  # noqa: E402
import libraries  # noqa: E402
import overhead  # noqa: E402
import report  # noqa: E402
from harness import (  # noqa: E402
    HEAP_RESET,
    SYSTEMS,
    available_systems,
    load_average,
    machine_info,
    print_machine,
    profile_rows,
    profile_xpgrad_case,
    run_benchmark,
    run_children,
)

WORKLOADS = "ABCDEFJ"
DOC = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "docs", "performance.md")


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true",
                   help="smoke test: small C and D, 2 short rounds, 1 child round")
    p.add_argument("--rounds", type=int,
                   help="in-process rounds (A, B, C time, E, J) and interpreters for F "
                        "(default 7 and 10; 2 and 1 with --quick)")
    p.add_argument("--sub-rounds", type=int,
                   help="child-process rounds for C's memory and D (default 3, 1 with --quick)")
    p.add_argument("--only", default=WORKLOADS, metavar="LETTERS",
                   help="workloads to run, e.g. 'A,C' or 'CD' (default: all)")
    p.add_argument("--systems", metavar="NAMES",
                   help="comma-separated systems besides numpy (default: all installed)")
    p.add_argument("--d-sizes", metavar="N,N",
                   help="chain lengths of D (default 100000,1000000; 10000 with --quick)")
    p.add_argument("--c-size", type=int, help="elements of C (default 4000000; 100000 with --quick)")
    p.add_argument("--j-sizes", metavar="N,N",
                   help="elements of x in J's Jacobian (and its outputs) and Hessian (default 256,100)")
    p.add_argument("--d-timeout", type=float, default=120.0,
                   help="seconds one child run (C memory, D) may take (default 120)")
    p.add_argument("--mem-cap", type=float, default=6.0,
                   help="GB of resident memory a child may reach (default 6)")
    p.add_argument("--json", metavar="PATH", help="also write the results as JSON to PATH")
    p.add_argument("--plot", metavar="PATH",
                   help="also draw the ratios to NumPy as a bar chart (PNG) to PATH")
    p.add_argument("--baseline", metavar="REV", action="append", default=[],
                   help="also measure xpgrad as it was at this git revision (repeatable), "
                        "as the system xpgrad@REV, in the same interleaved run")
    p.add_argument("--profile", action="store_true",
                   help="instead of timing, print cProfiles of xpgrad on C, D, E and J")
    p.add_argument("--backend", metavar="NAMES",
                   help="run A, B, C and E on these libraries' arrays instead, one after the "
                        f"other ({', '.join(libraries.LIBRARIES)}; 'all' for every installed "
                        "one): xpgrad on them against the same written by hand in them and "
                        "their own autograd")
    p.add_argument("--update-docs", metavar="PATH", nargs="?", const=DOC,
                   help="with --backend, write the per-backend tables, targets and profiles "
                        "into PATH between its markers (default docs/performance.md)")
    return p.parse_args(argv)


def settings(args):
    quick = args.quick
    only = {c for c in args.only.upper() if c in WORKLOADS}
    return {
        "quick": quick,
        "only": "".join(sorted(only)),
        "rounds": args.rounds or (2 if quick else 7),
        "import_rounds": args.rounds or (1 if quick else 10),
        "sub_rounds": args.sub_rounds or (1 if quick else 3),
        "warmup": 1 if quick else 3,
        "min_sample_s": 0.0 if quick else 0.1,
        "c_size": args.c_size or (100_000 if quick else elementwise.N_LARGE),
        "d_sizes": ([int(float(n)) for n in args.d_sizes.split(",")] if args.d_sizes
                    else [10_000] if quick else list(chain.SIZES)),
        "j_sizes": ([int(n) for n in args.j_sizes.split(",")] if args.j_sizes
                    else [jacobians.N_JAC, jacobians.N_HESS]),
        "d_timeout_s": args.d_timeout,
        "mem_cap_bytes": args.mem_cap * 1e9,
    }


def check_references(only):
    """The hand-written NumPy gradients against finite differences (abort on a mismatch)."""
    if only & set("AB"):
        overhead.check_references()  # exits on a mismatch
    modules = {"C": elementwise, "D": chain, "E": hvp, "J": jacobians}
    bad = [w for w, mod in modules.items() if w in only and not mod.check_reference()]
    if bad:
        sys.exit(f"error: the hand-written NumPy gradients of {bad} disagree with finite differences")


def run_all(cfg, systems, only):
    """Measure everything selected; return (cases in table order, merged results, extras).

    The systems of J only (``jacobians.ONLY_J``) run J's cases alone: their results for the
    other in-process cases are dropped, and no child or interpreter runs them."""
    results, extras = {}, {}
    others = [s for s in systems if s not in jacobians.ONLY_J]
    inproc = []
    if "A" in only or "B" in only:
        for case in overhead.make_cases():
            if case.key[0] in only:
                inproc.append(case)
    c_time = c_mem = c_fresh = None
    if "C" in only:
        c_time, c_mem = elementwise.make_cases(cfg["c_size"])
        c_fresh = elementwise.fresh_case(cfg["c_size"])
        inproc.append(c_time)
    e_cases = hvp.make_cases() if "E" in only else ()
    inproc.extend(e_cases)
    j_cases = jacobians.make_cases(*cfg["j_sizes"]) if "J" in only else ()
    inproc.extend(j_cases)
    if j_cases:
        extras["J_max_abs_diff_vs_torch"] = jacobians.cross_check(j_cases, systems)
    if inproc:
        log(f"in process: {', '.join(c.key for c in inproc)}; {cfg['rounds']} rounds")
        t0 = time.perf_counter()
        results.update(run_benchmark(inproc, systems, cfg["rounds"], cfg["warmup"],
                                     cfg["min_sample_s"], log=log))
        log(f"  {time.perf_counter() - t0:.0f} s")
        for case in inproc:
            if case not in j_cases:
                for s in jacobians.ONLY_J:
                    results[case.key].pop(s, None)
        if c_time is not None:
            del c_time.data["x"]  # the children make their own

    groups = {}
    if c_mem is not None:
        groups["C-mem"] = ("elementwise", {"n": cfg["c_size"]}, [c_mem, c_fresh])
    d_cases = []
    if "D" in only:
        for n in cfg["d_sizes"]:
            cases = chain.make_cases(n)
            groups[cases[0].group] = ("chain", {"n": n}, list(cases))
            d_cases.extend(cases)
    if groups:
        log(f"child processes: {', '.join(groups)}; {cfg['sub_rounds']} rounds")
        t0 = time.perf_counter()
        results.update(run_children(groups, others, cfg["sub_rounds"], cfg["d_timeout_s"],
                                    cfg["mem_cap_bytes"], batch=cfg["quick"], log=log))
        log(f"  {time.perf_counter() - t0:.0f} s")

    f_cases = imports.make_cases() if "F" in only else ()
    if f_cases:
        log(f"imports: {cfg['import_rounds']} fresh interpreters per system")
        res, bare = imports.run_imports(f_cases, others, cfg["import_rounds"],
                                        prime=not cfg["quick"], log=log)
        results.update(res)
        extras["bare_interpreter_ms"] = sorted(b * 1e3 for b in bare)

    order = ([c for c in inproc if c.key[0] in "AB"]
             + ([c_time, c_fresh, c_mem] if c_time is not None else [])
             + d_cases + list(e_cases) + list(f_cases) + list(j_cases))
    return order, results, extras


def profile_xpgrad(cfg, top=15):
    """cProfile of xpgrad on C, D (the first size), E and J, top functions by own time."""
    picks = []
    if "C" in cfg["only"]:
        picks.append((elementwise.make_cases(cfg["c_size"])[0], 3))
    if "D" in cfg["only"]:
        picks.append((chain.make_cases(cfg["d_sizes"][0])[0], 1))
    if "E" in cfg["only"]:
        picks.append((hvp.make_cases()[0], 200))
    if "J" in cfg["only"]:
        picks.extend((case, 20) for case in jacobians.make_cases(*cfg["j_sizes"]))
    for case, calls in picks:
        profile_xpgrad_case(case, calls, top, f"{calls} step(s)")
    if "F" in cfg["only"]:
        for label, source in (("import xpgrad", None),
                              ("import + first gradient", imports.FIRST_GRADIENT["xpgrad"])):
            total, total_all, rows = imports.importtime("xpgrad", top, source)
            print(f"python -X importtime, {label}: xpgrad {total} us cumulative, "
                  f"{total_all} us for all imports; top {top} by self time")
            print(f"{'self us':>9} {'cumul us':>9}  module")
            for self_us, cum_us, name in rows:
                print(f"{self_us:9d} {cum_us:9d}  {name}")


def main(argv=None):
    args = parse_args(argv)
    cfg = settings(args)
    only = set(cfg["only"])
    if args.backend:
        return run_backends(args, cfg)
    if args.update_docs:
        sys.exit("error: --update-docs writes the per-backend results: use it with --backend")
    if args.profile:
        profile_xpgrad(cfg)
        return None
    wanted = None if not args.systems else {s.strip() for s in args.systems.split(",")}
    for rev in args.baseline:
        module, path = baseline.build(rev)
        name = baseline.register(SYSTEMS, rev, module, path)
        if wanted is not None:
            wanted.add(name)
    versions, missing = available_systems(wanted)
    if "J" not in only:  # J's own systems have nothing else to run
        versions = {s: v for s, v in versions.items() if s not in jacobians.ONLY_J}
    else:  # xpgrad-loop right after xpgrad, in the table as in the rounds
        rank = {s: i for i, s in enumerate(SYSTEMS)}
        rank.update((s, rank["xpgrad"] + 0.5) for s in jacobians.ONLY_J)
        versions = dict(sorted(versions.items(), key=lambda sv: rank[sv[0]]))
    systems = list(versions)
    info = machine_info(versions)
    print_machine(info, missing)
    print(f"settings: {cfg['rounds']} in-process rounds after {cfg['warmup']} warm-up(s), "
          f"samples >= {cfg['min_sample_s'] * 1e3:.0f} ms; {cfg['sub_rounds']} child round(s); "
          f"C on {cfg['c_size']:,} elements; D with {', '.join(f'{n:,}' for n in cfg['d_sizes'])} "
          f"ops; child limits {cfg['d_timeout_s']:.0f} s, {cfg['mem_cap_bytes'] / 1e9:.0f} GB; "
          f"F over {cfg['import_rounds']} interpreters; J's Jacobian {cfg['j_sizes'][0]} -> "
          f"{cfg['j_sizes'][0]}, Hessian {cfg['j_sizes'][1]} el.; heap reset: {HEAP_RESET}", flush=True)

    t_start = time.perf_counter()
    check_references(only)
    cases, results, extras = run_all(cfg, systems, only)
    rows = [r for r in report.summarize(cases, results, systems)
            if r["system"] not in jacobians.ONLY_J or r["case"].startswith("J")]
    print()
    report.print_checks(cases, results, systems)
    for key, diffs in extras.get("J_max_abs_diff_vs_torch", {}).items():
        print(f"  {key}, max |xpgrad - torch.func| (limit {jacobians.VS_TORCH_TOL:g}): "
              + ", ".join(f"{s} {d:.1e}" for s, d in diffs.items()))
    methods = {r.get("memory_method") for r in rows if r.get("memory_method")}
    if methods:
        print(f"peak memory measured as: {', '.join(sorted(methods))} delta in a fresh child "
              f"(see elementwise.py)")
    if "bare_interpreter_ms" in extras:
        b = extras["bare_interpreter_ms"]
        print(f"bare interpreter start-up (python -c pass): median {b[len(b) // 2]:.0f} ms")
    print()
    report.print_table(rows, "torch" in systems)
    print()
    targets = report.evaluate_targets(rows) + jacobians.evaluate_targets(rows)
    report.print_targets(targets)
    elapsed = time.perf_counter() - t_start
    info["loadavg_end"] = load_average()
    print(f"\nsuite ran in {elapsed:.0f} s; load average at the end {info['loadavg_end']}")

    if args.json:
        report.write_json(args.json, {"machine": info, "settings": cfg, "skipped": missing,
                                      "elapsed_s": elapsed, "extras": extras,
                                      "targets": targets, "results": rows})
        print(f"wrote {args.json}")
    if args.plot:
        report.plot_ratios(rows, args.plot)
        print(f"wrote {args.plot}")
    return rows


# ---------------------------------------------------------------------- --backend


def backend_names(spec):
    names = [n.strip() for n in spec.split(",") if n.strip()]
    if names == ["all"]:
        return list(libraries.LIBRARIES)
    unknown = [n for n in names if n not in libraries.LIBRARIES]
    if unknown:
        sys.exit(f"error: --backend names {unknown}; the libraries are {', '.join(libraries.LIBRARIES)}")
    return names


def run_backends(args, cfg):
    """``--backend``: each library in turn, its systems interleaved in one run; returns
    ``{name: section}`` (rows, targets, profile, table text; ``skipped`` where not installed)."""
    only = set(cfg["only"]) & set(libraries.WORKLOADS)
    if set(cfg["only"]) - only:
        log(f"note: {''.join(sorted(set(cfg['only']) - only))} run on NumPy only (without --backend)")
    if not only:
        sys.exit("error: --backend runs A, B, C and E; --only chose none of them")
    print(f"settings: {cfg['rounds']} in-process rounds after {cfg['warmup']} warm-up(s), "
          f"samples >= {cfg['min_sample_s'] * 1e3:.0f} ms; {cfg['sub_rounds']} child round(s); "
          f"C on {cfg['c_size']:,} elements; heap reset: {HEAP_RESET}", flush=True)
    sections = {}
    for name in backend_names(args.backend):
        sections[name] = run_backend(name, cfg, only)
    if args.update_docs:
        write_doc(args.update_docs, sections, cfg, args)
        print(f"wrote {args.update_docs}")
    return sections


def run_backend(name, cfg, only):
    lib = libraries.LIBRARIES[name]
    wanted = libraries.systems(name)
    versions, missing = available_systems(set(wanted))
    xpgrad_system = "xpgrad" if name == "numpy" else f"xpgrad-{name}"
    print(f"\n=== backend {name} ===")
    if xpgrad_system not in versions:
        print(f"{lib.module} is not installed: skipped")
        return {"skipped": f"{lib.module} is not installed"}
    systems = [s for s in wanted if s in versions]
    info = machine_info(versions)
    print_machine(info, [m for m in missing if m in wanted])
    check_references(only)
    cases, results, _ = run_all(cfg, systems, only)
    hand = "numpy" if name == "numpy" else f"hand-{name}"
    refs = [hand] + ([lib.own] if lib.own in systems else []) + (["numpy"] if hand != "numpy" else [])
    rows = report.summarize(cases, results, systems, refs)
    columns = [(f"x {SYSTEMS[r][1]}", r) for r in refs]
    lines = []
    report.print_checks(cases, results, systems)
    report.print_table(rows, False, out=lines.append, columns=columns)
    print("\n" + "\n".join(lines) + "\n")
    targets = (report.evaluate_targets(rows) if name == "numpy"
               else report.evaluate_backend_targets(rows, name))
    report.print_targets(targets)
    profiles = []
    for case in [c for c in cases if c.key in ("A1", "C")]:
        if case.key == "C":
            case = elementwise.make_cases(cfg["c_size"])[0]  # run_all dropped its data
        total, top = profile_rows(case, xpgrad_system, 3 if case.key == "C" else 20, 10)
        profiles.append((case, total, top))
        print(f"\ncProfile of {SYSTEMS[xpgrad_system][1]} on {case.key}: {total:.3g} ms per step "
              "under the profiler; top functions by own time:")
        print_profile(top)
    info["loadavg_end"] = load_average()
    return {"info": info, "rows": rows, "targets": targets, "table": lines, "profiles": profiles,
            "label": lib.label}


def print_profile(top, out=print):
    out(f"{'ms/step':>9} {'calls/step':>10}  function")
    for ms, calls, fn in top:
        out(f"{ms:9.3f} {calls:10.0f}  {fn}")


BEGIN, END = "<!-- backend-results:begin -->", "<!-- backend-results:end -->"


def write_doc(path, sections, cfg, args):
    """Replace what lies between the markers of ``path`` with the per-backend results."""
    with open(path) as fh:
        text = fh.read()
    if BEGIN not in text or END not in text:
        sys.exit(f"error: {path} has no {BEGIN} ... {END} markers")
    out = [BEGIN, "", f"Command: `python benchmarks/run.py --backend {args.backend} --update-docs`"
           + (f" `--only {args.only}`" if args.only != WORKLOADS else "")
           + f"; {cfg['rounds']} in-process rounds, {cfg['sub_rounds']} child rounds, C on "
           f"{cfg['c_size']:,} elements.", ""]
    for name, sec in sections.items():
        out.append(f"### {libraries.LIBRARIES[name].label} (`--backend {name}`)")
        out.append("")
        if "skipped" in sec:
            out += [f"Not measured: {sec['skipped']}.", ""]
            continue
        info = sec["info"]
        out.append(f"Python {info['python']}; " + ", ".join(f"{s} {v}" for s, v in info["versions"].items())
                   + f"; load average {info['loadavg_start']} at the start, {info['loadavg_end']} at the end.")
        out += ["", "```", *sec["table"], "```", ""]
        for t in sec["targets"]:
            mark = {True: "met", False: "**not met**", None: "not measured"}[t["met"]]
            out.append(f"- {t['target']}: {mark} ({t['detail']})")
        out.append("")
        for case, total, top in sec["profiles"]:
            out.append(f"cProfile of xpgrad's step on {case.key} ({total:.3g} ms per step under "
                       "the profiler), top functions by own time:")
            out += ["", "```"]
            print_profile(top, out=out.append)
            out += ["```", ""]
    out.append(END)
    start, end = text.index(BEGIN), text.index(END) + len(END)
    with open(path, "w") as fh:
        fh.write(text[:start] + "\n".join(out) + text[end:])


if __name__ == "__main__":
    main()
