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
    out("Backends (the default device's first):")
    usable = []
    default = xpgrad.get_default_device().backend
    backends = sorted(registry.backends().items(), key=lambda item: item[1] is not default)
    for name, backend in backends:
        ok, why = backend.is_available()
        version = backend.version()
        if version is None:
            install = backend.install or f"pip install {backend.library.replace('_', '-')}"
            out(f"  {name:<18} not installed ({install})")
            continue
        if ok:
            devices = backend.devices()
            usable.extend(devices)
            out(f"  {name:<18} {backend.library + ' ' + version:<30} devices: {', '.join(devices)}")
        else:
            out(f"  {name:<18} {backend.library + ' ' + version:<30} unusable here: {why}")
    for plugin, reason in registry.broken():
        out(f"  (plugin {plugin} skipped: {reason})")
    return usable


def _ops(out):
    out("Ops, by the plugin that provides them:")
    by_plugin, specialised = {}, {}
    for defs in registry.all_ops().values():
        for op in defs:
            if op.backends:
                # a backend's own forward for an op users call by its generic name: listed
                # after the ops themselves, as an implementation detail
                for backend in op.backends:
                    specialised.setdefault(backend, set()).add(op.name)
                continue
            by_plugin.setdefault(op.plugin, []).append(op.name + ("" if op.differentiable else "*"))
    # the plugins that define ops users call first, in registration order; backends' last
    plugins = sorted(list_plugins(), key=lambda plugin: plugin.startswith("xpgrad.backends."))
    for plugin in plugins:
        names = by_plugin.get(plugin)
        if names:
            out(f"  {plugin} ({len(names)}):")
            out(_fill(sorted(names)))
    out("  (* not differentiable: the result never requires grad)")
    if specialised:
        out("Backend-specialised forwards (the same ops, run with the backend's own function):")
        for backend in sorted(specialised):
            out(f"  {backend} ({len(specialised[backend])}):")
            out(_fill(sorted(specialised[backend])))


def _fill(names):
    return textwrap.fill(" ".join(names), width=88, initial_indent="    ", subsequent_indent="    ")


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m xpgrad", formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Show what xpgrad has installed and where it can run, then run the examples of\n"
                    "the five PyTorch autograd tutorials on every usable device, each computed\n"
                    "gradient beside the one the tutorial shows or derives.",
        epilog="Exit status: 0 if every check passed, 1 otherwise.")
    parser.add_argument("--version", action="version",
                        version=f"xpgrad {xpgrad.__version__} (Python {sys.version.split()[0]})")
    parser.add_argument("--device", action="append", metavar="DEVICE",
                        help="run the tour on this device only (repeatable), e.g. cpu or "
                             "array_api_strict; default: every usable device")
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
