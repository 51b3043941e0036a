"""bring_up: on by default, off keeps the manual runbook, and refused where no talosctl is pinned."""

from __future__ import annotations

import pytest

from talos_sandbox.config import default_config, parse_config
from talos_sandbox.errors import SandboxError

NODES = [{"name": "n1", "private_ip": "10.10.0.10", "role": "gateway"}]
# A Talos release of a supported minor that the matrix pins no talosctl for.
UNPINNED = {"version": "v1.12.2"}


def test_on_by_default_with_a_minute_between_checks():
    bring_up = default_config().bring_up
    assert (bring_up.enabled, bring_up.poll_seconds, bring_up.health_timeout_minutes) == (True, 60, 10)


def test_refused_for_a_talos_release_without_pinned_tools():
    with pytest.raises(SandboxError) as raised:
        parse_config({"nodes": NODES, "talos": UNPINNED})
    message = str(raised.value)
    assert "bring_up.enabled" in message and "v1.12.2" in message and "v1.12.7" in message


def test_off_allows_any_supported_release():
    config = parse_config({"nodes": NODES, "talos": UNPINNED, "bring_up": {"enabled": False}})
    assert config.talos_release is None


@pytest.mark.parametrize("seconds", [0, 9, 3601])
def test_poll_seconds_bounded(seconds):
    with pytest.raises(SandboxError, match="bring_up.poll_seconds"):
        parse_config({"nodes": NODES, "bring_up": {"poll_seconds": seconds}})
