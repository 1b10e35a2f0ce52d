"""Every app's invariant checks, in dependency order. Each is a module with a
`violations()` generator of messages (DESIGN.md section 5)."""

from importlib import import_module

CHECKS = ("inventory.invariants", "orders.invariants")


def all_violations():
    for path in CHECKS:
        yield from import_module(path).violations()
