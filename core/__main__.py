"""``python -m xpgrad``: what is installed, what it can run on, and the tutorial tour.

Prints the version, every backend with its library version and devices (or why it
cannot run here), every registered op grouped by the plugin that provides it, then runs
the five tutorials' examples on each usable device, each computed gradient beside the
one the tutorial shows or derives. Exits 1 if any check fails.
"""
import argparse
import sys
import textwrap

import xpgrad
from xpgrad import tour
from xpgrad.plugins import get_plugin_manager, list_plugins, registry


def _backends(out):
    out("Backends:")
    usable = []
    for name, backend in registry.backends().items():
        ok, why = backend.is_available()
        version = backend.version()
        if version is None:
            install = backend.install or f"pip install {backend.library.replace('_', '-')}"
            out(f"  {name:<18} not installed ({install})")
            continue
        if ok:
            devices = backend.devices()
            usable.extend(devices)
            out(f"  {name:<18} {backend.library} {version:<12} devices: {', '.join(devices)}")
        else:
            out(f"  {name:<18} {backend.library} {version:<12} unusable here: {why}")
    for plugin, reason in registry.broken():
        out(f"  (plugin {plugin} skipped: {reason})")
    return usable


def _ops(out):
    out("Ops, by the plugin that provides them:")
    by_plugin = {}
    for defs in registry.all_ops().values():
        for op in defs:
            label = op.name + (f"[{','.join(sorted(op.backends))}]" if op.backends else "")
            if not op.differentiable:
                label += "*"
            by_plugin.setdefault(op.plugin, []).append(label)
    for plugin in list_plugins():
        names = by_plugin.get(plugin)
        if names:
            out(f"  {plugin} ({len(names)}):")
            out(textwrap.fill(" ".join(sorted(names)), width=88, initial_indent="    ",
                              subsequent_indent="    "))
    out("  (* not differentiable: the result never requires grad; [b] specialised for backend b)")


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m xpgrad", description=__doc__.splitlines()[0])
    parser.add_argument("--device", action="append",
                        help="run the tour on this device only (repeatable); default: every usable one")
    args = parser.parse_args(argv)
    out = print
    out(f"xpgrad {xpgrad.__version__} (Python {sys.version.split()[0]})")
    get_plugin_manager()
    devices = _backends(out)
    _ops(out)
    failed = 0
    for device in args.device or devices:
        out(f"Tutorial tour on device {device!r}:")
        xpgrad.manual_seed(0)
        failed += tour.run(device, out)
    if not (args.device or devices):
        out("No usable backend: install numpy (or another array library with a backend plugin).")
        failed += 1
    out("All checks passed." if not failed else f"{failed} check(s) FAILED.")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
