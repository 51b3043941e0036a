"""The Talos minors the stack writes machine-config documents for, and how a minor's
documents are shaped.

v1.11 knows only the v1alpha1 form. From v1.12 Talos' JSON schema has no
`machine.network` (but KubeSpan), `machine.registries` or `machine.time`: hostname,
links, resolvers, time sync and registry mirrors are documents of their own (v1.13 also
drops `machine.network` and `machine.env`). The node still accepts the old fields, but a
document using them fails that minor's schema, and talosctl 1.12+ `gen config` already
writes a HostnameConfig that a legacy hostname conflicts with (FACTS.md).
"""

from __future__ import annotations

from ..facts.releases import SUPPORTED_TALOS_MINORS

# The release matrix's minors; a config picks one through talos.version (config.talos_minor).
TALOS_MINORS: tuple[str, ...] = SUPPORTED_TALOS_MINORS
# The first minor whose schema wants the multi-document form.
FIRST_MULTIDOC_MINOR = "v1.12"


def minor_key(talos_minor: str) -> tuple[int, int]:
    """("v1.12") -> (1, 12), after checking it is a supported minor."""
    if talos_minor not in TALOS_MINORS:
        raise ValueError(f"Talos minor {talos_minor!r} is not supported (one of {', '.join(TALOS_MINORS)})")
    major, minor = talos_minor.removeprefix("v").split(".")
    return int(major), int(minor)


def multidoc(talos_minor: str) -> bool:
    """Whether that minor's documents use the multi-document form."""
    return minor_key(talos_minor) >= minor_key(FIRST_MULTIDOC_MINOR)
