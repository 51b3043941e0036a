"""What an operator runs after `terraform apply`: the runbook, as data.

A runbook is an ordered list of steps (id, title, notes, commands), built from config.
`next-steps` renders it as text (templates/next-steps.txt.j2) or prints it as JSON; the
per-node `talosctl` commands are also the `talosctl_apply_config` Terraform output.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from ..config import NodeConfig, SandboxConfig
from ..documents import cozystack
from ..documents.cluster_plan import installs_cozystack
from ..documents.render import render
from ..documents.talos_commands import SECRETS_FILE, apply_config_command, talos_health_command, upgrade_command
from ..documents.talos_patches import PATCH_DIR
from ..documents.tool_downloads import INSTALL_DIR, verified_install
from ..facts.architectures import BASTION_ARCH
from ..facts.releases import HELM
from .bring_up_runbook import bring_up_steps, read_parameter
from .cozystack_runbook import cozystack_steps, watch_cozystack
from .cozystack_runbook import dashboard as cozystack_dashboard
from .runbook_model import BASTION, OPERATOR, Command, Runbook, Step, find_bastion

TALOSCONFIG_FILE = "talosconfig"
KUBECONFIG_FILE = "kubeconfig"


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
    commands = [find_bastion(config)]
    notes = ["The bastion has no public IPv4: SSH goes over IPv6 (the security group admits bastion.ssh_ipv6_cidrs)."]
    if config.bastion.ssh_ipv6_cidrs:
        if config.bastion.ssh_public_keys:
            notes.append("SSH with a key from bastion.ssh_public_keys: the `ssh` command.")
            commands.append(Command("ssh ec2-user@$(terraform output -raw bastion_ipv6)"))
        notes.append(
            "EC2 Instance Connect: `send-ssh-public-key` pushes your key for 60 seconds through the AWS API, "
            "the `ssh` after it uses that minute."
        )
        commands.append(Command(_instance_connect(config, "ssh -6 ec2-user@$(terraform output -raw bastion_ipv6)")))
    else:
        notes.append("SSH and EC2 Instance Connect need bastion.ssh_ipv6_cidrs (empty: only Session Manager).")
    notes.append(
        "Session Manager: the agent is set to its dual-stack endpoints (agent 3.3.3270.0 and later); "
        "with IPv4 egress up it works either way."
    )
    commands.append(Command(f"aws ssm start-session --region {region} --target \"$BASTION\""))
    notes.append("The nodes' Talos API (50000) and Kubernetes API (6443) accept the bastion.")
    return Step("reach-bastion", "Reach the bastion", notes=tuple(notes), commands=tuple(commands))


def _instance_connect(config: SandboxConfig, ssh: str) -> str:
    """`ssh` within the minute an EC2 Instance Connect key push allows ($BASTION: reach-bastion)."""
    return (
        f"aws ec2-instance-connect send-ssh-public-key --region {config.region} --instance-id \"$BASTION\" \\\n"
        "  --instance-os-user ec2-user --ssh-public-key file://$HOME/.ssh/id_ed25519.pub \\\n"
        f"  && {ssh}"
    )


def _copy_files(config: SandboxConfig) -> Step:
    """The stack's Talos and CozyStack files onto the bastion, as one script of base64 text:
    it goes through SSH, or is pasted into a Session Manager shell (which copies no files).
    Runs in the stack folder, like every operator step after `deploy`'s `cd`; the archive
    is made first, so a missing folder stops the step instead of writing an empty bundle."""
    folders = " ".join(_copied_folders(config))
    archive, bundle = f"{config.name}-files.tar.gz", f"{config.name}-files.sh"
    commands = [
        Command(
            f"tar -czf {archive} {folders} && "
            f"{{ echo \"mkdir -p ~/{config.name} && base64 -d <<'FILES' | tar -C ~/{config.name} -xzf -\"; "
            f"base64 < {archive}; echo FILES; }} > {bundle}"
        )
    ]
    notes = [f"Then paste the contents of {bundle} into the bastion's shell; the files land in ~/{config.name}."]
    if config.bastion.ssh_ipv6_cidrs:
        notes = [f"Over SSH the second command runs it there; with Session Manager, paste {bundle}'s contents instead."]
        ssh = f"ssh -6 ec2-user@$(terraform output -raw bastion_ipv6) bash < {bundle}"
        # Without a key of bastion.ssh_public_keys, only an Instance Connect push lets ssh in.
        commands.append(Command(ssh if config.bastion.ssh_public_keys else _instance_connect(config, ssh)))
    return Step("copy-files", f"Copy {folders} to the bastion", notes=tuple(notes), commands=tuple(commands))


def _copied_folders(config: SandboxConfig) -> tuple[str, ...]:
    return (PATCH_DIR, cozystack.INSTALL_DIR) if config.cozystack.enabled else (PATCH_DIR,)


def _tools(config: SandboxConfig) -> Step:
    release = config.talos_release
    tools = [release.talosctl, release.kubectl] if release else []
    if config.cozystack.enabled and config.cozystack.major >= 1:
        tools.append(HELM)
    notes = [
        "Each download is checked against the sha256 the release matrix pins and against the release's own "
        "checksum file; a mismatch stops before anything is installed.",
        "talosctl matches the nodes' Talos minor: a newer one writes documents an older node rejects.",
    ]
    if release is None:
        notes.append(
            f"Talos {config.talos_version} is not in the release matrix (lint TSL013): install the talosctl and "
            "kubectl of that release yourself."
        )
    commands = [Command(f"mkdir -p {INSTALL_DIR} && export PATH={INSTALL_DIR}:$PATH && cd $(mktemp -d)")]
    commands += [Command(verified_install(tool, BASTION_ARCH)) for tool in tools]
    commands.append(Command(f"cd ~/{config.name}"))
    pinned = ", ".join(f"{tool.name} {tool.version}" for tool in tools)
    return Step("tools", f"Install {pinned or 'the tools'} on the bastion", notes=tuple(notes),
                commands=tuple(commands), where=BASTION)  # fmt: skip


def _node_consoles(config: SandboxConfig) -> Step:
    return Step(
        "node-consoles",
        "Follow each node's first boot on its serial console",
        notes=(
            "A node installs from talos-sandbox-install.service; until the bastion's NAT is up it keeps trying.",
            "The console shows the Amazon Linux stage; after the reboot the Talos image may write to another "
            "console (ttyAMA0 on arm64), so it can stay silent.",
        ),
        commands=tuple(
            Command(
                f"aws ec2 get-console-output --region {config.region} --latest --output text \\\n"
                f"  --instance-id \"$(terraform output -json node_instance_ids | jq -r '.[\"{node.name}\"]')\"",
                node=node.name,
            )
            for node in config.nodes
        ),
    )


def _watch_nodes(config: SandboxConfig) -> Step:
    from_ami = config.talos.install_method == "talos-ami"

    def commands(node: NodeConfig) -> tuple[Command, ...]:
        return (
            Command(
                f"until talosctl get disks --insecure -n {node.private_ip} >/dev/null 2>&1; do sleep 15; done; "
                f"echo '{node.name}: Talos maintenance mode'",
                node=node.name,
            ),
        )

    if from_ami:
        notes = (
            f"Each node boots the official Talos AMI ({config.talos.ami_id or config.talos_ami_name}) straight into "
            "maintenance mode at its ENI's address (DHCP); the upgrade after bootstrap moves it to its role image.",
        )
    else:
        notes = ("Each node boots Amazon Linux, installs Talos and reboots into maintenance mode.",)
    notes += ("The Talos API answering on port 50000 is the sign: each command waits for its node.",)
    return Step(
        "watch-nodes",
        "Watch each node reach Talos maintenance mode",
        notes=notes,
        commands=tuple(command for node in config.nodes for command in commands(node)),
        where=BASTION,
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
        where=BASTION,
    )


def _configure_talos(config: SandboxConfig) -> Step:
    return Step(
        "configure-talos",
        f"Configure Talos {config.talos_version}",
        notes=tuple(f"{node.name}: {node.machine_type}, {node.private_ip}" for node in config.nodes),
        commands=(Command(f"talosctl gen secrets -o {SECRETS_FILE}"),)
        + tuple(command for node in config.nodes for command in node_commands(config, node)),
        where=BASTION,
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
    return Step("bootstrap", "Bootstrap Kubernetes", notes=notes, commands=tuple(Command(c) for c in commands), where=BASTION)


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
        file, key = (
            (cozystack.CONFIGMAP_FILE, "expose-external-ips") if config.cozystack.major == 0
            else (cozystack.PACKAGE_FILE, "publishing.externalIPs")
        )  # fmt: skip
        notes.append(
            f"or to CozyStack directly: {file} publishes the root tenant's ingress on them "
            f"({key}); the commands turn the ingress on and show it."
        )
        commands = (
            Command(
                "kubectl patch -n tenant-root tenants.apps.cozystack.io root --type=merge "
                "-p '{\"spec\":{\"ingress\":true}}'"
            ),
            Command("kubectl get svc -n tenant-root root-ingress-controller"),
        )
    else:
        notes.append(
            "or to CozyStack, once installed: its platform Package's publishing.externalIPs (v1) or its "
            "ConfigMap's expose-external-ips (v0)."
        )
    return Step("service-addresses", f"Service addresses ({addresses})", notes=tuple(notes), commands=commands, where=BASTION)


def runbook(config: SandboxConfig, stack_dir: str) -> Runbook:
    egress = _ipv4_egress(config)
    steps = [egress, _deploy(stack_dir)] if _key_before_apply(config) else [_deploy(stack_dir), egress]
    if config.talos.install_method == "boot-to-talos":
        steps.append(_node_consoles(config))
    if config.bring_up.enabled:
        steps += bring_up_steps(config)
        if config.talos.install_method == "talos-ami":
            steps += [_reach_bastion(config), _tools(config), _fetched_talosconfig(config, _upgrade_nodes(config))]
    else:
        steps += [
            _reach_bastion(config),
            _copy_files(config),
            _tools(config),
            _watch_nodes(config),
            _configure_talos(config),
            _bootstrap(config),
        ]
        if config.talos.install_method == "talos-ami":
            steps.append(_upgrade_nodes(config))
    later = cozystack_steps(config)
    service_addresses = _service_addresses(config)
    if service_addresses is not None:
        later.append(service_addresses)
    if config.bring_up.enabled:
        later = [_from_your_machine(step) for step in later]
    if installs_cozystack(config) and config.cozystack_chart_sha256:
        steps.append(watch_cozystack(config))
    steps += later
    dashboard = cozystack_dashboard(config)
    if dashboard is not None:
        steps.append(dashboard)
    return Runbook(sandbox=config.name, region=config.region, stack_dir=stack_dir, steps=tuple(steps))


def _fetched_talosconfig(config: SandboxConfig, step: Step) -> Step:
    """A bastion step that needs the talosconfig the bring-up stored (the bastion may read it)."""
    fetch = Command(
        f"{read_parameter(config, 'talosconfig', into='talosconfig')} && export TALOSCONFIG=$PWD/talosconfig"
    )
    return dataclasses.replace(step, commands=(fetch, *step.commands))


def _from_your_machine(step: Step) -> Step:
    """With the bring-up, kubectl and helm run on the operator's machine through the API port
    forward (reach-api), in the stack folder; the unit has already run `talosctl health`."""
    commands = tuple(c for c in step.commands if not c.run.startswith("talosctl health"))
    notes = step.notes + ("On your machine, in the stack folder, with the reach-api port forward running and "
                          "KUBECONFIG=$PWD/kubeconfig (kubectl and helm of the release matrix installed there).",)
    return dataclasses.replace(step, commands=commands, notes=notes, where=OPERATOR)


def next_steps(config: SandboxConfig, stack_dir: str) -> str:
    return render("next-steps.txt.j2", runbook=runbook(config, stack_dir))
