"""bring_up: whether the bastion brings the Talos cluster up by itself after apply."""

from __future__ import annotations

from pydantic import Field

from .base import ConfigModel

# One status check a minute is plenty for a cluster that changes when someone applies.
DEFAULT_POLL_SECONDS = 60


class BringUpConfig(ConfigModel):
    enabled: bool = Field(
        True,
        description="The bastion's talos-sandbox-cluster unit configures the nodes, bootstraps etcd once, "
        "checks health and stores talosconfig and kubeconfig in SSM (README, \"What happens after apply\"). "
        "false: nothing runs on the bastion and `next-steps` is the manual runbook.",
    )
    poll_seconds: int = Field(
        DEFAULT_POLL_SECONDS,
        ge=10,
        le=3600,
        description="How often the unit looks again for a changed patch or a replaced node once the cluster is up.",
    )
    health_timeout_minutes: int = Field(
        10, ge=1, le=120, description="How long one `talosctl health` run may wait before it counts as failed."
    )
