"""Every lint rule as a pair (cdk-nag style): it fires on a config that breaks it, and
stays quiet on one that does not."""

from __future__ import annotations

import pytest

from talos_sandbox.config import default_config
from talos_sandbox.outputs.lint import lint, report
from talos_sandbox.outputs.lint.rules import RULES

from ...conftest import PUBLIC_IPV4, WIREGUARD, make_config

DIGEST = "@sha256:" + "ab" * 32
SCHEDULE = {"start": "0 8 * * MON-FRI", "stop": "0 13 * * MON-FRI"}

# rule id -> (config that breaks it, the field it names, config that complies)
PAIRS = {
    "TSL001": (
        {},
        "loadbalancer.mode",
        {"loadbalancer": {"mode": "eni-secondary-ips", "addresses": ["10.10.0.200"]}},
    ),
    "TSL002": (
        {"node_defaults": {"instance_type": "m7g.xlarge"}},
        "node_defaults.instance_type",
        {"node_defaults": {"instance_type": "m7g.2xlarge"}},
    ),
    "TSL003": (
        {"talos": {"images": {"gateway": "ghcr.io/urmanac/cozystack-assets/talos/cozystack-spin-tailscale/talos:v1.13.5"}}},
        "talos.images.gateway",
        {},  # the default images are pinned by digest
    ),
    "TSL004": (
        {"talos": {"images": {"compute": "ghcr.io/cozystack/cozystack/talos:v1.13.5"}}},
        "talos.images.compute",
        {"node_defaults": {"instance_type": "m8i.2xlarge"}, "talos": {"images": {"compute": "ghcr.io/cozystack/cozystack/talos:v1.13.0"}}},
    ),
    "TSL005": (
        {},
        "bastion.wireguard.peer_endpoint",
        {"bastion": {"wireguard": WIREGUARD}},
    ),
    "TSL006": (
        {"schedule": {**SCHEDULE, "nodes": False}},
        "schedule.nodes",
        {"schedule": SCHEDULE},
    ),
    "TSL007": (
        {"bastion": {"ssh_ipv6_cidrs": ["2001:db8::/48"]}},
        "bastion.ssh_ipv6_cidrs[0]",
        {"bastion": {"ssh_ipv6_cidrs": ["2001:db8:0:1::/64"]}},
    ),
    "TSL008": ({}, "talos.boot_to_talos_sha256", {"talos": {"boot_to_talos_sha256": "cd" * 32}}),
    "TSL009": (
        {"nodes": [{"name": "n1", "private_ip": "10.10.0.10", "role": "gateway", "instance_type": "m7g.4xlarge"}]},
        "nodes[0].instance_type",
        {"node_defaults": {"instance_type": "m7g.metal"}},
    ),
    "TSL010": (
        {"talos": {"install_method": "talos-ami", "ami_id": "ami-0123456789abcdef0"}},
        "talos.ami_id",
        {"talos": {"install_method": "talos-ami"}},
    ),
    "TSL011": (
        {"talos": {"install_method": "talos-ami", "version": "v1.13.0", "images": {
            "gateway": "ghcr.io/a/talos:v1.13.5", "compute": "ghcr.io/a/talos:v1.13.5"}}},
        "talos.version",
        {"talos": {"install_method": "talos-ami", "images": {
            "gateway": "ghcr.io/a/talos:v1.13.5", "compute": "ghcr.io/a/talos:v1.13.5"}}},
    ),
    "TSL012": (
        {},
        "bastion.registry_caches.enabled",
        {"bastion": {"wireguard": WIREGUARD}},
    ),
    "TSL013": ({"talos": {"version": "v1.13.0"}}, "talos.version", {}),
    "TSL014": (
        {"cozystack": {"version": "v1.6.2"}, "talos": {"version": "v1.13.6", "images": {
            "gateway": "ghcr.io/a/talos" + DIGEST, "compute": "ghcr.io/a/talos" + DIGEST}}},
        "cozystack.version",
        {"cozystack": {"version": "v1.6.2"}, "node_defaults": {"instance_type": "m8i.2xlarge"}},
    ),
    "TSL015": ({}, "cozystack.version", {"node_defaults": {"instance_type": "m8i.2xlarge"}}),
    "TSL016": ({}, "node_defaults.data_volume_gb", {"node_defaults": {"data_volume_gb": 256}}),
    "TSL017": ({}, "cozystack.chart_sha256", {"cozystack": {"chart_sha256": "0" * 64}}),
}


def fired(config, rule_id: str) -> list:
    return [finding for finding in lint(config) if finding.rule.rule_id == rule_id]


def test_every_rule_has_a_pair():
    assert sorted(rule.rule_id for rule in RULES) == sorted(PAIRS)


@pytest.mark.parametrize("rule_id", sorted(PAIRS))
def test_rule_fires_on_a_breaking_config(rule_id):
    breaking, field, _ = PAIRS[rule_id]
    findings = fired(make_config(**breaking), rule_id)
    assert findings and findings[0].field == field


@pytest.mark.parametrize("rule_id", sorted(PAIRS))
def test_rule_is_quiet_on_a_complying_config(rule_id):
    _, _, complying = PAIRS[rule_id]
    assert fired(make_config(**complying), rule_id) == []


def test_rules_have_stable_ids_reasons_sources_and_fixes():
    for rule in RULES:
        assert rule.rule_id.startswith("TSL") and len(rule.rule_id) == 6
        assert rule.reason and rule.source and rule.fix and rule.title
        assert rule.severity in ("error", "warning")


def test_the_default_reports_the_designs_real_problems():
    found = {finding.rule.rule_id for finding in lint(default_config())}
    assert {"TSL001", "TSL002", "TSL005", "TSL009", "TSL012"} <= found
    assert "TSL007" not in found and "TSL006" not in found


def test_report_groups_by_rule():
    text = report(lint(default_config()))
    assert text.count("TSL002 ") == 1 and "talos-gateway-1, talos-compute-2, talos-compute-3" in text
    assert "why:" in text and "source:" in text and "fix:" in text


def test_the_ami_method_has_no_boot_to_talos_download_to_pin():
    assert fired(make_config(talos={"install_method": "talos-ami"}), "TSL008") == []


def test_ami_release_is_compared_with_each_image():
    images = {
        "gateway": "ghcr.io/urmanac/cozystack-assets/talos/cozystack-spin-tailscale/talos:v1.12.0",
        "compute": "ghcr.io/urmanac/cozystack-assets/talos/cozystack-spin-only/talos:v1.11.6",
    }
    findings = fired(make_config(talos={"install_method": "talos-ami", "version": "v1.11.6", "images": images}), "TSL011")
    assert [finding.problem for finding in findings] == [
        "the AMI boots Talos v1.11.6, talos.images.gateway is v1.12.0"
    ]


@pytest.mark.parametrize("arch, node_type", [("arm64", "t4g.medium"), ("amd64", "t3.large")])
def test_capacity_suggestion_passes_its_own_check(arch, node_type):
    from talos_sandbox.outputs.lint.rules.node_below_cozystack_minimum import SUGGESTED

    [finding] = fired(make_config(node_defaults={"instance_type": node_type}), "TSL002")
    assert f"e.g. {SUGGESTED[arch]} meets it" in finding.problem
    assert fired(make_config(node_defaults={"instance_type": SUGGESTED[arch]}), "TSL002") == []


def test_nested_virtualization_types_are_told_how_to_turn_it_on():
    [finding] = fired(make_config(node_defaults={"instance_type": "m8i.2xlarge"}), "TSL009")
    assert "offers nested virtualization, but hashicorp/aws 5.100.0 cannot turn it on" in finding.problem
    assert "modify-instance-cpu-options" in finding.rule.fix


def test_an_unknown_cozystack_release_is_named():
    tagged = {"gateway": "ghcr.io/a/talos:v1.13.0", "compute": "ghcr.io/a/talos:v1.13.0"}
    findings = fired(make_config(cozystack={"version": "v1.4.0"}, talos={"images": tagged}), "TSL013")
    assert findings[0].field == "cozystack.version" and "not in the release matrix" in findings[0].problem


def test_release_lint_names_an_image_tagged_with_another_talos_release():
    """boot-to-talos installs the image's Talos, but documents and talosctl follow talos.version."""
    images = {"gateway": "ghcr.io/a/talos:v1.13.5", "compute": "ghcr.io/a/talos:v1.13.5"}
    problems = [f.problem for f in fired(make_config(talos={"version": "v1.12.7", "images": images}), "TSL013")]
    assert "Talos v1.12.7 (documents, talosctl), but talos.images.gateway is tagged v1.13.5" in problems
    assert not [p for p in (f.problem for f in fired(make_config(talos={"images": images}), "TSL013")) if "tagged" in p]


def test_registry_caches_lint_is_quiet_when_they_are_off_or_have_an_elastic_ip():
    assert fired(make_config(bastion={"registry_caches": {"enabled": False}}), "TSL012") == []
    assert fired(make_config(**PUBLIC_IPV4), "TSL012") == []


def test_unproven_build_lint_stays_while_one_role_keeps_the_builds_image():
    assert fired(make_config(talos={"images": {"compute": "ghcr.io/a/talos" + DIGEST}}), "TSL015")
    images = {"gateway": "ghcr.io/a/talos" + DIGEST, "compute": "ghcr.io/a/talos" + DIGEST}
    assert fired(make_config(talos={"images": images}), "TSL015") == []


def test_unpinned_image_fix_fits_amd64_nodes_too():
    [finding, *_] = fired(make_config(node_defaults={"instance_type": "m8i.2xlarge"}), "TSL003")
    assert "arm64" not in finding.rule.fix and "nodes' architecture" in finding.rule.fix


def test_linstor_lint_reads_the_single_disk_share_and_is_quiet_without_cozystack():
    [finding] = fired(make_config(node_defaults={"data_volume_gb": None, "root_volume_gb": 100}), "TSL016")
    assert "at least 77 GiB on the smallest node, below 256 GB" in finding.problem  # 100 - 3 - ceil(100 * 70 / 470)
    assert fired(make_config(node_defaults={"data_volume_gb": None, "root_volume_gb": 400}), "TSL016") == []
    assert fired(make_config(cozystack={"enabled": False}), "TSL016") == []
