"""Build jsii's runtime index of the AWS provider once, so that every synth is fast.

jsii caches each extracted assembly under its package cache and, in a background worker,
builds an index of the provider's 120 MB type definitions. A fast synth (under a second)
exits before that worker finishes, so without this step every synth on a fresh machine
stays at about 2 s. `make setup` runs `python -m talos_sandbox.jsii_cache` once; it loads
the bindings and waits for the index.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

PROVIDER = ("@cdktf", "provider-aws")
INDEX_FILE = ".jsii.runtime-index.v1"
WAIT_SECONDS = 180


def cache_root() -> Path:
    """jsii's package cache folder (as @jsii/kernel computes it on Linux and macOS)."""
    configured = os.environ.get("JSII_RUNTIME_PACKAGE_CACHE_ROOT")
    if configured:
        return Path(configured)
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Caches" / "com.amazonaws.jsii" / "package-cache"
    return Path.home() / ".cache" / "aws" / "jsii" / "package-cache"


def provider_indexes() -> list[Path]:
    return sorted(cache_root().joinpath(*PROVIDER).glob(f"*/*/{INDEX_FILE}"))


def main() -> int:
    if os.environ.get("JSII_RUNTIME_PACKAGE_CACHE", "enabled").lower() == "disabled":
        print("jsii package cache disabled; nothing to warm")
        return 0
    if provider_indexes():
        print("jsii runtime index of the AWS provider: present")
        return 0
    from . import bindings  # noqa: F401  (loads the assembly; jsii starts the index worker)

    deadline = time.monotonic() + WAIT_SECONDS
    while not provider_indexes():
        if time.monotonic() > deadline:
            print(f"warning: jsii built no runtime index within {WAIT_SECONDS} s; synths stay slower", file=sys.stderr)
            return 0
        time.sleep(0.5)
    print("jsii runtime index of the AWS provider: built")
    return 0


if __name__ == "__main__":
    sys.exit(main())
