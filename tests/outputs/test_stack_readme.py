"""The README.md beside each synthesized stack."""

from __future__ import annotations

import re

from talos_sandbox.config import default_config
from talos_sandbox.outputs.diagram import build, to_mermaid
from talos_sandbox.outputs.stack_readme import stack_readme

from ..conftest import make_config


def test_synth_writes_the_readme_with_every_section(synth):
    stack_dir, stack = synth(default_config())
    text = (stack_dir / "README.md").read_text()
    assert text.startswith("# Sandbox cozy-demo\n")
    for heading in ("## Network", "## Nodes", "## Lint findings", "## Cost estimate", "## After `terraform apply`"):
        assert f"\n{heading}\n" in text
    assert "| region, zone | eu-west-1, eu-west-1a |" in text
    assert "IPv4 egress: WireGuard, no peer configured" in text and "| schedule | none: always on |" in text
    # The diagram is the one drawn from the JSON beside it, in a Mermaid block.
    assert f"```mermaid\n{to_mermaid(build(stack, title='cozy-demo'))}```\n" in text
    assert "| talos-gateway-1 | gateway, controlplane | 10.10.0.101 | t4g.medium | 50 GB gp3 + 50 GB LINSTOR data |" in text
    assert "| TSL005 | error | `bastion.wireguard.peer_endpoint` |" in text
    assert re.search(r"total / month\s+51\.20\s+125\.64", text)
    assert "`/cozy-demo/cluster/status`" in text, "the bring-up's status, where to read it"
    assert "python -m talos_sandbox next-steps" in text


def test_schedule_elastic_ip_and_a_region_without_prices(default_stack):
    config = make_config(
        region="ap-southeast-2",
        network={"bastion_subnet_cidr": "10.10.1.0/28"},
        bastion={"ipv4_egress": "public_ipv4", "private_ip": "10.10.1.10"},
        schedule={"start": "0 8 * * MON-FRI", "stop": "0 13 * * MON-FRI", "timezone": "Europe/Berlin"},
    )
    text = stack_readme(config, default_stack)
    assert "IPv4 egress: Elastic IP" in text and "| bastion subnet | 10.10.1.0/28 |" in text
    assert "| schedule | 0 8 * * MON-FRI .. 0 13 * * MON-FRI (Europe/Berlin) |" in text
    assert "no estimate: no prices for region ap-southeast-2" in text, "synth does not fail for want of prices"
