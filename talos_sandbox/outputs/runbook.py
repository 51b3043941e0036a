"""What an operator runs after `terraform apply`: the runbook, as data.

A runbook is an ordered list of steps (id, title, notes, commands), built from config.
`next-steps` renders it as text (templates/next-steps.txt.j2) or prints it as JSON; the
per-node `talosctl` commands are also the `talosctl_apply_config` Terraform output.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass

from ..config import NodeConfig, SandboxConfig
from ..documents import cozystack
from ..documents.render import render
from ..documents.talos_commands import SECRETS_FILE, apply_config_command, talos_health_command, upgrade_command
from ..documents.talos_patches import PATCH_DIR

TALOSCONFIG_FILE = "talosconfig"
KUBECONFIG_FILE = "kubeconfig"


@dataclass(frozen=True)
class Command:
    run: str
    """A shell command, runnable as written (continuation lines end in a backslash)."""
    node: str | None = None
    """The node it is for, when a step has commands per node."""


@dataclass(frozen=True)
class Step:
    id: str
    """Stable identifier, for tools reading the JSON."""
    title: str
    notes: tuple[str, ...] = ()
    commands: tuple[Command, ...] = ()


@dataclass(frozen=True)
class Runbook:
    sandbox: str
    region: str
    stack_dir: str
    steps: tuple[Step, ...]

    def as_dict(self) -> dict[str, object]:
        return dataclasses.asdict(self)


# Per-node commands of the "configure Talos" step, in order; each returns None when it
# has nothing to do for that node. An extra per-node step (e.g. an upgrade after the
# apply) is one more function here.
NODE_COMMANDS: tuple[Callable[[SandboxConfig, NodeConfig], str | None], ...] = (apply_config_command,)


def node_commands(config: SandboxConfig, node: NodeConfig) -> tuple[Command, ...]:
    found = (command(config, node) for command in NODE_COMMANDS)
    return tuple(Command(run, node=node.name) for run in found if run is not None)


def _deploy(stack_dir: str) -> Step:
    return Step("deploy", "Deploy", commands=(Command(f"cd {stack_dir}"), Command("terraform init && terraform apply")))


def _ipv4_egress(config: SandboxConfig) -> Step:
    if config.bastion.ipv4_egress == "public_ipv4":
        return Step(
            "ipv4-egress",
            "The bastion reaches the IPv4 internet through its Elastic IP",
            commands=(Command("terraform output -raw bastion_public_ipv4"),),
        )
    if not config.bastion.wireguard.has_peer:
        return Step(
            "ipv4-egress",
            "The bastion has no WireGuard peer configured",
            notes=(
                "The nodes have no IPv4 egress and cannot install Talos.",
                "Set bastion.wireguard in the config (see `lint`, TSL005).",
            ),
        )
    return Step(
        "ipv4-egress",
        "Before the first apply: put the bastion's WireGuard key in SSM (read at boot; never in user-data or state)",
        notes=(
            "Give the public key the first command prints to your peer.",
            "The first bastion reads the key when it boots, so no instance refresh is needed. If you change the key "
            f"later: aws autoscaling start-instance-refresh --auto-scaling-group-name {config.name}-bastion",
        ),
        commands=(
            Command("wg genkey | tee bastion.key | wg pubkey"),
            Command(
                f"aws ssm put-parameter --region {config.region} --type SecureString \\\n"
                f"  --name {config.wireguard_key_parameter} --value \"$(cat bastion.key)\" --overwrite"
            ),
        ),
    )


def _key_before_apply(config: SandboxConfig) -> bool:
    return config.bastion.ipv4_egress == "wireguard" and config.bastion.wireguard.has_peer


def _reach_bastion(config: SandboxConfig) -> Step:
    region = config.region
    commands = [
        Command(
            f"BASTION=$(aws ec2 describe-instances --region {region} \\\n"
            "  --filters Name=network-interface.network-interface-id,Values=$(terraform output -raw bastion_eni_id) "
            "Name=instance-state-name,Values=running \\\n"
            "  --query 'Reservations[0].Instances[0].InstanceId' --output text)"
        )
    ]
    notes = ["The bastion has no public IPv4: SSH goes over IPv6 (the security group admits bastion.ssh_ipv6_cidrs)."]
    if config.bastion.ssh_ipv6_cidrs:
        if config.bastion.ssh_public_keys:
            notes.append("SSH with a key from bastion.ssh_public_keys: the `ssh` command.")
            commands.append(Command("ssh ec2-user@$(terraform output -raw bastion_ipv6)"))
        notes.append(
            "EC2 Instance Connect: `send-ssh-public-key` pushes your key for 60 seconds through the AWS API, "
            "the `ssh` after it uses that minute."
        )
        commands.append(
            Command(
                f"aws ec2-instance-connect send-ssh-public-key --region {region} --instance-id \"$BASTION\" \\\n"
                "  --instance-os-user ec2-user --ssh-public-key file://$HOME/.ssh/id_ed25519.pub \\\n"
                "  && ssh -6 ec2-user@$(terraform output -raw bastion_ipv6)"
            )
        )
    else:
        notes.append("SSH and EC2 Instance Connect need bastion.ssh_ipv6_cidrs (empty: only Session Manager).")
    notes.append(
        "Session Manager: the agent is set to its dual-stack endpoints (agent 3.3.3270.0 and later); "
        "with IPv4 egress up it works either way."
    )
    commands.append(Command(f"aws ssm start-session --region {region} --target \"$BASTION\""))
    notes.append(
        "Install talosctl and kubectl there; the nodes' Talos API (50000) and Kubernetes API (6443) accept the bastion."
    )
    return Step("reach-bastion", "Reach the bastion", notes=tuple(notes), commands=tuple(commands))


def _watch_nodes(config: SandboxConfig) -> Step:
    from_ami = config.talos.install_method == "talos-ami"

    def commands(node: NodeConfig) -> tuple[Command, ...]:
        maintenance = Command(
            f"until talosctl get disks --insecure -n {node.private_ip} >/dev/null 2>&1; do sleep 15; done; "
            f"echo '{node.name}: Talos maintenance mode'",
            node=node.name,
        )
        console = Command(
            f"aws ec2 get-console-output --region {config.region} --latest --output text \\\n"
            f"  --instance-id \"$(terraform output -json node_instance_ids | jq -r '.[\"{node.name}\"]')\"",
            node=node.name,
        )
        return (maintenance,) if from_ami else (maintenance, console)

    if from_ami:
        notes = (
            f"Each node boots the official Talos AMI ({config.talos.ami_id or config.talos_ami_name}) straight into "
            "maintenance mode at its ENI's address (DHCP); the upgrade after bootstrap moves it to its role image.",
        )
    else:
        notes = (
            "A node installs from talos-sandbox-install.service; until the bastion's NAT is up it keeps trying.",
            "The EC2 serial console shows the Amazon Linux stage; after the reboot the arm64 Talos image may write "
            "to ttyAMA0 only, so the console can stay silent.",
        )
    notes += ("The Talos API answering on port 50000 is the sign: each command waits for its node (Ctrl-C to stop).",)
    return Step(
        "watch-nodes",
        "Watch each node reach Talos maintenance mode (from the bastion)",
        notes=notes,
        commands=tuple(command for node in config.nodes for command in commands(node)),
    )


def _upgrade_nodes(config: SandboxConfig) -> Step:
    return Step(
        "upgrade-nodes",
        "Move each node from the AMI's stock Talos to its role image",
        notes=(
            "install.image in the patch is used only by an install, and the AMI came installed. One node at a time: "
            "each command waits for its node to come back.",
            "After bootstrap, because Talos upgrades a control-plane node only through etcd's quorum check. "
            "No --preserve: gone since Talos 1.8, which keeps the EPHEMERAL partition on every upgrade.",
        ),
        commands=tuple(Command(upgrade_command(config, node), node=node.name) for node in config.nodes),
    )


def _configure_talos(config: SandboxConfig) -> Step:
    copied = f"{PATCH_DIR}/ folder"
    if config.cozystack.enabled:
        copied = f"{PATCH_DIR}/ and {cozystack.INSTALL_DIR}/ folders"
    return Step(
        "configure-talos",
        f"Configure Talos (from the bastion, with the stack's {copied} copied there)",
        notes=tuple(f"{node.name}: {node.machine_type}, {node.private_ip}" for node in config.nodes),
        commands=(Command(f"talosctl gen secrets -o {SECRETS_FILE}"),)
        + tuple(command for node in config.nodes for command in node_commands(config, node)),
    )


def _bootstrap(config: SandboxConfig) -> Step:
    first = config.first_control_plane.private_ip
    commands = [
        f"talosctl gen config {config.name} {config.control_plane_endpoint} --with-secrets {SECRETS_FILE} "
        f"--output-types talosconfig -o {TALOSCONFIG_FILE} --force",
        f"export TALOSCONFIG=$PWD/{TALOSCONFIG_FILE}",
        f"talosctl config endpoint {first} && talosctl config node {first}",
        "talosctl bootstrap",
        "talosctl kubeconfig .",
        f"export KUBECONFIG=$PWD/{KUBECONFIG_FILE}",
        "kubectl get nodes -o wide",
    ]
    if config.cozystack.enabled:
        notes = ("The nodes stay NotReady until CozyStack installs its CNI (the Talos patches set none).",)
    else:
        notes = ("Healthy when `talosctl health` passes and every node is Ready.",)
        commands.append(talos_health_command(config))
    return Step("bootstrap", "Bootstrap Kubernetes", notes=notes, commands=tuple(Command(c) for c in commands))


def _install_cozystack(config: SandboxConfig) -> Step:
    version = config.cozystack.version
    return Step(
        "install-cozystack",
        f"Install CozyStack {version}",
        notes=(
            f"As CozyStack's v0 install guide gives it; {cozystack.CONFIGMAP_FILE} holds this network's values "
            f"(root-host {cozystack.root_host(config)}, api-server-endpoint {config.control_plane_endpoint}).",
            "The last command follows the installer's log; stop it with Ctrl-C once HelmReleases appear.",
        ),
        commands=(
            Command(f"kubectl create ns {cozystack.NAMESPACE} --dry-run=client --output yaml | kubectl apply -f -"),
            Command(f"kubectl apply -f {cozystack.CONFIGMAP_FILE}"),
            Command(f"kubectl apply -f {cozystack.installer_url(version)}"),
            Command(
                f"kubectl wait deployment/cozystack -n {cozystack.NAMESPACE} --for=condition=Available --timeout=5m"
            ),
            Command(f"kubectl logs -n {cozystack.NAMESPACE} deploy/cozystack -f"),
        ),
    )


def _cozystack_health(config: SandboxConfig) -> Step:
    commands = [
        "kubectl get hr -A",
        "kubectl wait hr --all -A --for=condition=Ready --timeout=30m",
        "kubectl get nodes -o wide",
        talos_health_command(config),
    ]
    notes = [
        "The installer creates the HelmReleases over some minutes: wait until `kubectl get hr -A` lists them.",
        "Healthy when every HelmRelease is READY True, every node Ready and `talosctl health` passes.",
    ]
    if config.cozystack.bundle_name == "paas-full":
        commands.append("kubectl exec -n cozy-linstor deploy/linstor-controller -- linstor node list")
        notes.append(
            "LINSTOR lists every node Online. Its storage pools need a free disk or partition per node; these "
            "nodes have only their root volume (CozyStack's single-disk how-to)."
        )
    return Step(
        "cozystack-health",
        "Check that CozyStack is healthy",
        notes=tuple(notes),
        commands=tuple(Command(c) for c in commands),
    )


def _service_addresses(config: SandboxConfig) -> Step | None:
    loadbalancer, gateway = config.loadbalancer, config.gateway_node
    if loadbalancer.mode == "metallb-l2":
        return Step(
            "service-addresses",
            "Service addresses: loadbalancer.mode is metallb-l2, which does not work on a VPC (lint TSL001)",
        )
    if loadbalancer.mode != "eni-secondary-ips" or gateway is None:
        return None
    addresses = ", ".join(str(address) for address in loadbalancer.addresses)
    pool = ", ".join(f"{address}/32" for address in loadbalancer.addresses)
    notes = [
        f"They are secondary private IPs of {gateway.name}'s interface, "
        "so the VPC delivers their traffic to that node.",
        "Give them to MetalLB as a pool announced from that node only:",
        f"  IPAddressPool   spec.addresses: [{pool}]",
        f"  L2Advertisement spec.nodeSelectors: kubernetes.io/hostname={gateway.name}",
    ]
    commands: tuple[Command, ...] = ()
    if config.cozystack.enabled:
        notes.append(
            f"or to CozyStack directly: {cozystack.CONFIGMAP_FILE} publishes the root tenant's ingress on them "
            "(expose-external-ips); the commands turn the ingress on and show it."
        )
        commands = (
            Command(
                "kubectl patch -n tenant-root tenants.apps.cozystack.io root --type=merge "
                "-p '{\"spec\":{\"ingress\":true}}'"
            ),
            Command("kubectl get svc -n tenant-root root-ingress-controller"),
        )
    else:
        notes.append("or to CozyStack directly: publishing.externalIPs in the cozystack ConfigMap.")
    return Step("service-addresses", f"Service addresses ({addresses})", notes=tuple(notes), commands=commands)


def runbook(config: SandboxConfig, stack_dir: str) -> Runbook:
    egress = _ipv4_egress(config)
    steps = [egress, _deploy(stack_dir)] if _key_before_apply(config) else [_deploy(stack_dir), egress]
    steps += [
        _reach_bastion(config),
        _watch_nodes(config),
        _configure_talos(config),
        _bootstrap(config),
    ]
    if config.talos.install_method == "talos-ami":
        steps.append(_upgrade_nodes(config))
    if config.cozystack.enabled:
        steps += [_install_cozystack(config), _cozystack_health(config)]
    service_addresses = _service_addresses(config)
    if service_addresses is not None:
        steps.append(service_addresses)
    return Runbook(sandbox=config.name, region=config.region, stack_dir=stack_dir, steps=tuple(steps))


def next_steps(config: SandboxConfig, stack_dir: str) -> str:
    return render("next-steps.txt.j2", runbook=runbook(config, stack_dir))
