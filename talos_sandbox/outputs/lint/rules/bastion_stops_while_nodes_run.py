from ....config import SandboxConfig
from .. import Rule


def check(config: SandboxConfig):
    if config.schedule is not None and not config.schedule.nodes:
        yield "schedule.nodes", f"false: the bastion stops at '{config.schedule.stop}' while the nodes keep running"


RULE = Rule(
    rule_id="TSL006",
    title="The schedule stops the bastion while nodes run",
    reason="The bastion is the nodes' only IPv4 route (0.0.0.0/0 points at its ENI); while it is "
    "stopped they lose image pulls, NTP beyond AWS and every IPv4 API.",
    source="talos-sandbox routing (README, 'How it works')",
    fix="Set schedule.nodes: true, so nodes start after and stop before the bastion, or drop the schedule.",
    check=check,
)
