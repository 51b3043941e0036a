"""BastionEni: the static ENI, its one-instance ASG, launch template, IAM and boot script."""

from __future__ import annotations

import base64
import json

from ...conftest import PUBLIC_IPV4, WIREGUARD, make_config, only, registry_cache_volumes, resources_of
from talos_sandbox.terraform.user_data import user_data_text


def boot_script(stack: dict) -> str:
    return user_data_text(only(stack, "aws_launch_template")["user_data"])


def test_eni_is_static_with_ipv6_and_no_source_dest_check(default_stack):
    eni = only(default_stack, "aws_network_interface")
    assert eni["private_ips"] == ["10.10.0.100"]
    assert eni["ipv6_address_count"] == 1
    assert eni["source_dest_check"] is False
    [group] = eni["security_groups"]
    assert group.startswith("${aws_security_group.security-groups_bastion_")
    assert eni["tags"]["Name"] == "cozy-demo-bastion"


def test_asg_holds_one_instance_in_the_enis_az(default_stack):
    group = only(default_stack, "aws_autoscaling_group")
    assert (group["min_size"], group["max_size"], group["desired_capacity"]) == (1, 1, 1)
    assert group["availability_zones"] == ["eu-west-1a"]
    assert "vpc_zone_identifier" not in group
    assert group["launch_template"]["version"].endswith(".latest_version}")
    assert group["instance_refresh"]["preferences"]["min_healthy_percentage"] == 0
    assert {tag["key"] for tag in group["tag"]} == {"Demo", "Name", "Sandbox"}
    assert all(tag["propagate_at_launch"] for tag in group["tag"])


def test_launch_template_names_the_eni_as_primary_interface(default_stack):
    template = only(default_stack, "aws_launch_template")
    [interface] = template["network_interfaces"]
    assert interface["device_index"] == 0
    assert interface["network_interface_id"].startswith("${aws_network_interface.bastion_eni_")
    assert interface["delete_on_termination"] == "false"
    assert "vpc_security_group_ids" not in template, "groups live on the ENI"


def test_launch_template_hardening(default_stack):
    template = only(default_stack, "aws_launch_template")
    assert template["metadata_options"]["http_tokens"] == "required"
    assert template["ebs_optimized"] == "true"
    assert template["monitoring"] == {"enabled": True}
    [root] = template["block_device_mappings"]
    assert root["ebs"]["encrypted"] == "true" and root["ebs"]["volume_type"] == "gp3" and root["ebs"]["volume_size"] == 8
    assert {spec["resource_type"] for spec in template["tag_specifications"]} == {"instance", "volume"}
    assert template["instance_type"] == "t4g.small"
    assert template["image_id"].startswith("${data.aws_ssm_parameter.al2023-arm64.")


def test_ami_comes_from_the_public_al2023_arm64_parameter(default_stack):
    parameter = default_stack["data"]["aws_ssm_parameter"]["al2023-arm64"]
    assert parameter["name"] == "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-arm64"


CACHES_OFF = make_config(bastion={"registry_caches": {"enabled": False}}, bring_up={"enabled": False})


CLUSTER_STATEMENTS = {"ReadTheCluster", "WriteTheCluster", "WithTheClusterKey"}  # tests/terraform/constructs/test_cluster_parameters.py


def bastion_statements(stack: dict) -> dict[str, dict]:
    """The bastion role's inline statements by Sid (none when it has no inline policy)."""
    policies = [p for n, p in resources_of(stack, "aws_iam_role_policy").items() if n.startswith("bastion")]
    return {s["Sid"]: s for policy in policies for s in json.loads(policy["policy"])["Statement"]}


def test_role_has_session_manager_and_no_wildcards(synth):
    _, stack = synth(CACHES_OFF)
    attachment = only(stack, "aws_iam_role_policy_attachment")
    assert attachment["policy_arn"].endswith(":iam::aws:policy/AmazonSSMManagedInstanceCore")
    assert bastion_statements(stack) == {}, "without a WireGuard peer, caches or bring-up the bastion needs no extra permission"


def test_registry_cache_permissions_are_scoped_to_the_volume_and_the_bastion(default_stack):
    statements = bastion_statements(default_stack)
    assert set(statements) - CLUSTER_STATEMENTS == {"FindTheRegistryCacheVolume", "AttachTheRegistryCacheVolume", "ToTheBastionOnly"}
    assert statements["FindTheRegistryCacheVolume"]["Action"] == ["ec2:DescribeVolumes"]
    [volume] = registry_cache_volumes(default_stack)
    assert statements["AttachTheRegistryCacheVolume"]["Resource"] == [f"${{aws_ebs_volume.{volume}.arn}}"]
    to_bastion = statements["ToTheBastionOnly"]
    assert to_bastion["Action"] == ["ec2:AttachVolume"] and to_bastion["Resource"][0].endswith(":instance/*")
    assert to_bastion["Condition"] == {"StringEquals": {"ec2:ResourceTag/Name": "cozy-demo-bastion"}}
    assert only(default_stack, "aws_autoscaling_group")["depends_on"] == [f"aws_ebs_volume.{volume}"]


def test_registry_credentials_come_from_ssm_at_boot(synth):
    caches = {"upstreams": {"ghcr.io": {"port": 5054, "credentials_parameter": "/cozy-demo/ghcr/token"}}}
    _, stack = synth(make_config(bastion={"registry_caches": caches}))
    [arn] = bastion_statements(stack)["ReadTheRegistryCredentials"]["Resource"]
    assert arn.endswith(":parameter/cozy-demo/ghcr/token")
    script = boot_script(stack)
    assert "--name /cozy-demo/ghcr/token --with-decryption" in script
    assert "REGISTRY_PROXY_PASSWORD" in script and "registry-cache@ghcr.io.service" in script
    assert "registry-cache@docker.io.service" not in script, "a dropped upstream gets no cache"


def test_boot_script_runs_one_cache_unit_per_upstream(default_stack):
    script = boot_script(default_stack)
    assert len(base64.b64decode(only(default_stack, "aws_launch_template")["user_data"])) < 16 * 1024, "EC2's limit"
    enable = next(line for line in script.splitlines() if line.strip().startswith("systemctl enable --now registry-cache@"))
    assert enable.split()[3:] == [f"registry-cache@{r}.service" for r in ("docker.io", "gcr.io", "ghcr.io", "quay.io", "registry.k8s.io")]
    assert "After=network-online.target talos-sandbox-nat.service" in script
    assert "Restart=on-failure" in script and "REGISTRY_PROXY_PASSWORD" not in script
    assert "--filters Name=tag:Name,Values=cozy-demo-registry-cache Name=availability-zone,Values=eu-west-1a" in script
    assert "releases/download/v3.1.1/registry_3.1.1_linux_arm64.tar.gz" in script


def test_boot_script_without_caches_has_none(synth):
    _, stack = synth(CACHES_OFF)
    assert "registry-cache" not in boot_script(stack)
    assert registry_cache_volumes(stack) == {}


def test_wireguard_key_permission_is_scoped_to_its_parameter(synth):
    _, stack = synth(make_config(bastion={"wireguard": WIREGUARD, "registry_caches": {"enabled": False}}))
    [policy] = [p for n, p in resources_of(stack, "aws_iam_role_policy").items() if n.startswith("bastion")]
    statements = {s["Sid"]: s for s in json.loads(policy["policy"])["Statement"]}
    assert statements["ReadTheTunnelKey"]["Action"] == ["ssm:GetParameter"]
    [resource] = statements["ReadTheTunnelKey"]["Resource"]
    assert resource.endswith(":parameter/cozy-demo/wireguard/private-key")
    # The S3 prefix list, read at boot to keep S3 out of the tunnel: AWS-owned lists only.
    assert statements["ReadTheS3PrefixList"]["Resource"] == ["arn:${data.aws_partition.partition.partition}:ec2:eu-west-1:aws:prefix-list/*"]
    assert statements["FindTheS3PrefixList"]["Action"] == ["ec2:DescribeManagedPrefixLists"]


def test_without_s3_endpoint_the_bastion_reads_no_prefix_list(synth):
    _, stack = synth(make_config(bastion={"wireguard": WIREGUARD}, network={"s3_gateway_endpoint": False}))
    [policy] = [p for n, p in resources_of(stack, "aws_iam_role_policy").items() if n.startswith("bastion")]
    sids = [s["Sid"] for s in json.loads(policy["policy"])["Statement"]]
    assert "ReadTheTunnelKey" in sids and not {"FindTheS3PrefixList", "ReadTheS3PrefixList"} & set(sids)
    assert "prefix-list" not in boot_script(stack)


def test_boot_script_masquerades_out_wg0(synth):
    _, stack = synth(make_config(bastion={"wireguard": WIREGUARD}))
    script = boot_script(stack)
    assert "net.ipv4.ip_forward = 1" in script and "rp_filter = 2" in script
    assert 'ip saddr 10.10.0.0/24 oifname "wg0" masquerade' in script
    assert "Endpoint = [2001:db8::1]:51820" in script
    assert "--name /cozy-demo/wireguard/private-key" in script
    assert "PrivateKey" not in script, "the key is read at boot, never written into user-data"
    assert "systemctl enable wg-quick@wg0" in script and "systemctl enable talos-sandbox-nat.service" in script
    assert "After=network-online.target wg-quick@wg0.service" in script, "caches start after the tunnel"
    assert "MTU = 1420" in script, "the tunnel fits the internet gateway's 1500 bytes"
    assert "tcp option maxseg size set 1380" in script, "forwarded TCP is clamped to the tunnel"
    assert "enable nftables" not in script and "restart nftables" not in script, (
        "the distribution's nftables.service flushes every table on stop"
    )


def test_ssh_public_keys_reach_ec2_users_authorized_keys(synth):
    key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKg5tE2zUvNwy0FqY3d3aX7xQb2m1kq7Zp8s6yQm0fJb user@laptop"
    script = boot_script(synth(make_config(bastion={"ssh_public_keys": [key]}))[1])
    assert f"\n{key}\nKEYS\n" in script and "/home/ec2-user/.ssh/authorized_keys" in script
    assert "authorized_keys" not in boot_script(synth(make_config())[1])


def test_boot_script_without_peer_warns_and_skips_the_tunnel(default_stack):
    script = boot_script(default_stack)
    assert "no peer is configured" in script and "wg-quick@wg0" not in script


def test_public_ipv4_mode_puts_an_elastic_ip_on_the_eni(synth):
    config = make_config(**PUBLIC_IPV4)
    _, stack = synth(config)
    eip = only(stack, "aws_eip")
    assert eip["domain"] == "vpc" and eip["network_interface"].startswith("${aws_network_interface.bastion_eni_")
    assert eip["associate_with_private_ip"] == "10.10.1.10"
    assert "ip saddr 10.10.0.0/24 ip daddr != 10.10.0.0/16 masquerade" in boot_script(stack)
    assert "wireguard" not in boot_script(stack)
    assert only(stack, "aws_network_interface")["subnet_id"].startswith("${aws_subnet.network_bastion-subnet_")
