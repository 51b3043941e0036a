"""The operator runbook: its steps as data, the per-node talosctl commands, and that
every file it reads is one the stack writes or an earlier command makes."""

from __future__ import annotations

import shlex
import subprocess

import pytest

from talos_sandbox.outputs import runbook as runbook_module
from talos_sandbox.config import default_config
from talos_sandbox.outputs.runbook import Command, apply_config_command, next_steps, runbook, upgrade_command

from ..conftest import PUBLIC_IPV4, WIREGUARD, make_config

SSH_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKg5tE2zUvNwy0FqY3d3aX7xQb2m1kq7Zp8s6yQm0fJb me@laptop"

WORKERS = [
    {"name": "w1", "private_ip": "10.10.0.20", "machine_type": "worker"},
    {"name": "cp1", "private_ip": "10.10.0.21", "role": "gateway"},
]
# The manual runbook (bring_up off); tests/outputs/test_bring_up_runbook.py has the other.
MANUAL = {"enabled": False}


def manual_config(**sections):
    return make_config(bring_up=MANUAL, **sections)


CONFIGS = {
    "default": make_config(bring_up=MANUAL),
    "tunnel-and-secondary-ips": make_config(
        bastion={"wireguard": WIREGUARD, "ssh_ipv6_cidrs": ["2001:db8:0:1::/64"]},
        loadbalancer={"mode": "eni-secondary-ips", "addresses": ["10.10.0.200", "10.10.0.201"]},
        bring_up=MANUAL,
    ),
    "workers-cozystack-off": make_config(nodes=WORKERS, cozystack={"enabled": False}, bring_up=MANUAL, **PUBLIC_IPV4),
    "workers": make_config(nodes=WORKERS, bring_up=MANUAL),
}
# Options whose next argument is a file the command reads, or writes.
READS = ("--file", "-f", "--with-secrets")
WRITES = ("-o",)


def step(book, step_id: str):
    [found] = [s for s in book.steps if s.id == step_id]
    return found


def test_apply_config_command_uses_the_nodes_patches_and_address():
    config = manual_config()
    command = apply_config_command(config, config.nodes[2])
    assert (
        "--config-patch @talos/talos-compute-3.yaml --config-patch @talos/cozystack.yaml "
        "--config-patch @talos/cozystack-controlplane.yaml -o talos-compute-3.yaml" in command
    )
    assert "--with-secrets secrets.yaml" in command and "--output-types controlplane" in command
    assert command.endswith("talosctl apply-config --insecure -n 10.10.0.103 --file talos-compute-3.yaml")
    assert config.control_plane_endpoint == "https://10.10.0.101:6443"


def test_workers_and_endpoint():
    config = CONFIGS["workers"]
    assert config.control_plane_endpoint == "https://10.10.0.21:6443"
    worker = apply_config_command(config, config.nodes[0])
    assert "--output-types worker" in worker and "@talos/cozystack.yaml" in worker
    assert "cozystack-controlplane" not in worker  # Talos refuses etcd settings on a worker


def test_steps_in_order_with_stable_ids():
    ids = {name: [s.id for s in runbook(config, "out").steps] for name, config in CONFIGS.items()}
    base = ["deploy", "ipv4-egress", "node-consoles", "reach-bastion", "copy-files", "tools", "watch-nodes",
            "configure-talos", "bootstrap"]
    cozystack = ["install-cozystack", "linstor-storage", "cozystack-health"]
    # Every config here keeps a loadbalancer.mode with a step (the default metallb-l2's is a warning).
    # With a tunnel, the key goes into SSM before the first apply, so the first bastion reads it.
    key_first = ["ipv4-egress", "deploy", *base[2:]]
    assert ids == {
        "default": base + cozystack + ["service-addresses"],
        "tunnel-and-secondary-ips": key_first + cozystack + ["service-addresses", "dashboard"],
        "workers-cozystack-off": base + ["service-addresses"],
        "workers": base + cozystack + ["service-addresses"],
    }
    assert [s.id for s in runbook(manual_config(loadbalancer={"mode": "none"}), "out").steps] == base + cozystack


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_every_file_the_runbook_reads_exists_by_then(name, synth):
    """Files under the stack's folders must be written by the stack; any other file an
    earlier command must have made (`-o`, `talosctl kubeconfig .`)."""
    config = CONFIGS[name]
    stack_dir, _ = synth(config)
    written = {str(path.relative_to(stack_dir)) for path in stack_dir.rglob("*") if path.is_file()}
    made: set[str] = set()
    checked = 0
    for command in (c for s in runbook(config, str(stack_dir)).steps for c in s.commands):
        words = shlex.split(command.run.replace("\\\n", " "))
        if words[:3] == ["talosctl", "kubeconfig", "."]:
            made.add("kubeconfig")
        for option, path in zip(["", *words], words):  # in order: a command may read what it just wrote
            if option in WRITES:
                made.add(path)
            if not (option in READS or path.startswith("@")) or path.startswith("https://") or path == "-":
                continue
            path = path.removeprefix("@")
            checked += 1
            if path.split("/")[0] in {"talos", "cozystack"}:
                assert path in written, f"{path}: the stack does not write it ({command.run})"
            else:
                assert path in made, f"{path}: no earlier command makes it ({command.run})"
    assert checked >= 2 * len(config.nodes) + 1


def test_runbook_for_the_default_warns_about_egress_and_metallb():
    text = next_steps(manual_config(), "cdktf.out/stacks/cozy-demo")
    assert "cd cdktf.out/stacks/cozy-demo" in text
    assert "no WireGuard peer configured" in text
    assert "talosctl bootstrap" in text and "talosctl gen secrets -o secrets.yaml" in text
    assert "TSL001" in text
    for node in manual_config().nodes:
        assert apply_config_command(manual_config(), node) in text


def test_text_renders_every_step_and_command():
    for config in CONFIGS.values():
        book = runbook(config, "out")
        text = next_steps(config, "out")
        for number, item in enumerate(book.steps, start=1):
            where = "on the bastion" if item.where == "bastion" else "on your machine"
            assert f"\n{number}. {item.title}  [{where}]\n" in text
            for note in item.notes:
                assert f"   {note}\n" in text
            for command in item.commands:
                assert "   " + command.run.replace("\n", "\n   ") in text


def test_cozystack_v0_install_waits_for_the_installers_pod():
    v0 = manual_config(node_defaults={"instance_type": "m8i.2xlarge"}, cozystack={"version": "v0.41.11"})
    install = [c.run for c in step(runbook(v0, "out"), "install-cozystack").commands]
    assert install == [
        "kubectl create ns cozy-system --dry-run=client --output yaml | kubectl apply -f -",
        "kubectl apply -f cozystack/configmap.yaml",
        "kubectl apply -f https://github.com/cozystack/cozystack/releases/download/v0.41.11/cozystack-installer.yaml",
        "kubectl rollout status deployment/cozystack -n cozy-system --timeout=15m",
    ]
    health = [c.run for c in step(runbook(v0, "out"), "cozystack-health").commands]
    assert "kubectl exec -n cozy-linstor deploy/linstor-controller -- linstor node list" in health


def test_cozystack_install_and_health():
    book = runbook(manual_config(), "out")
    install = [c.run for c in step(book, "install-cozystack").commands]
    assert install[0].startswith("helm upgrade --install cozystack oci://ghcr.io/cozystack/cozystack/cozy-installer "
                                 "--version 1.5.1")
    assert "-f cozystack/values.yaml --wait" in install[0]
    assert "kubectl rollout status deployment/cozystack-operator -n cozy-system --timeout=15m" in install
    assert install[-1] == "kubectl apply -f cozystack/platform-package.yaml"
    assert not any(" logs " in c and " -f" in c for c in install), "nothing waits for a Ctrl-C"
    health = [c.run for c in step(book, "cozystack-health").commands]
    assert health.count("kubectl wait hr --all -A --for=condition=Ready --timeout=30m") == 1
    assert health[0].startswith("until [") and "kubectl get hr -A --no-headers" in health[0]
    assert "talosctl health --control-plane-nodes 10.10.0.101,10.10.0.102,10.10.0.103" in health
    bootstrap = [c.run for c in step(book, "bootstrap").commands]
    assert bootstrap[-2:] == ["export KUBECONFIG=$PWD/kubeconfig", "kubectl get nodes -o wide"]
    assert "NotReady" in " ".join(step(book, "bootstrap").notes)


def test_without_cozystack_bootstrap_checks_health_itself():
    book = runbook(CONFIGS["workers-cozystack-off"], "out")
    bootstrap = [c.run for c in step(book, "bootstrap").commands]
    assert bootstrap[-1] == "talosctl health --control-plane-nodes 10.10.0.21 --worker-nodes 10.10.0.20"
    assert "cozystack" not in next_steps(CONFIGS["workers-cozystack-off"], "out").replace("cozystack-spin", "")
    assert "Elastic IP" in step(book, "ipv4-egress").title


def test_runbook_with_tunnel_and_secondary_ips():
    config = CONFIGS["tunnel-and-secondary-ips"]
    text = next_steps(config, "out")
    assert "--name /cozy-demo/wireguard/private-key" in text
    assert "ssh -6 ec2-user@$(terraform output -raw bastion_ipv6)" in text, "Instance Connect over IPv6"
    assert "spec.addresses: [10.10.0.200/32, 10.10.0.201/32]" in text
    assert "kubernetes.io/hostname=talos-gateway-1" in text
    commands = [c.run for c in step(runbook(config, "out"), "service-addresses").commands]
    assert commands == [
        "kubectl patch -n tenant-root tenants.apps.cozystack.io root --type=merge -p '{\"spec\":{\"ingress\":true}}'",
        "kubectl get svc -n tenant-root root-ingress-controller",
    ]


def test_per_node_commands_are_grouped_by_node(monkeypatch):
    def upgrade(config, node):
        return f"talosctl upgrade -n {node.private_ip}" if node.role == "gateway" else None

    monkeypatch.setattr(runbook_module, "NODE_COMMANDS", (*runbook_module.NODE_COMMANDS, upgrade))
    config = manual_config()
    commands = step(runbook(config, "out"), "configure-talos").commands
    assert commands[0] == Command("talosctl gen secrets -o secrets.yaml")
    assert [(c.node, c.run.split()[1]) for c in commands[1:]] == [
        ("talos-gateway-1", "gen"), ("talos-gateway-1", "upgrade"),
        ("talos-compute-2", "gen"), ("talos-compute-3", "gen"),
    ]  # fmt: skip
    assert next_steps(config, "out").count("   # talos-gateway-1\n") == 3  # console, watch and configure steps


def test_wireguard_key_before_apply_without_instance_refresh():
    book = runbook(CONFIGS["tunnel-and-secondary-ips"], "out")
    key = step(book, "ipv4-egress")
    assert "Before the first apply" in key.title
    assert [c.run.split()[:3] for c in key.commands] == [["wg", "genkey", "|"], ["aws", "ssm", "put-parameter"]]
    assert not any("start-instance-refresh" in c.run for c in key.commands), "only a note, for a later key change"


def test_every_way_into_the_bastion():
    key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKg5tE2zUvNwy0FqY3d3aX7xQb2m1kq7Zp8s6yQm0fJb me@laptop"
    open_ssh = manual_config(bastion={"ssh_ipv6_cidrs": ["2001:db8:1::/64"], "ssh_public_keys": [key]})
    commands = [c.run for c in step(runbook(open_ssh, "out"), "reach-bastion").commands]
    assert commands[0].startswith("BASTION=$(aws ec2 describe-instances")
    assert "ssh ec2-user@$(terraform output -raw bastion_ipv6)" in commands
    [connect] = [c for c in commands if "ec2-instance-connect send-ssh-public-key" in c]
    assert '--instance-id "$BASTION"' in connect and connect.endswith("ssh -6 ec2-user@$(terraform output -raw bastion_ipv6)")
    assert commands[-1] == 'aws ssm start-session --region eu-west-1 --target "$BASTION"'
    closed = step(runbook(manual_config(), "out"), "reach-bastion")
    assert [c.run.split()[:3] for c in closed.commands][1:] == [["aws", "ssm", "start-session"]]
    assert any("need bastion.ssh_ipv6_cidrs" in note for note in closed.notes)


def test_each_node_is_watched_through_its_talos_api():
    config = manual_config()
    watch = step(runbook(config, "out"), "watch-nodes")
    for node in config.nodes:
        [api] = [c.run for c in watch.commands if c.node == node.name and "talosctl" in c.run]
        assert api.startswith(f"until talosctl get disks --insecure -n {node.private_ip} ")
    assert any("50000" in note for note in watch.notes)


def test_upgrade_step_only_on_the_ami_method():
    config = manual_config()
    assert all(upgrade_command(config, node) is None for node in config.nodes)
    text = next_steps(config, "out")
    assert "talosctl upgrade" not in text and "get-console-output" in text


def test_ami_runbook_upgrades_each_node_to_its_role_image_after_bootstrap():
    config = manual_config(
        talos={"install_method": "talos-ami"},
        nodes=[
            {"name": "gw", "private_ip": "10.10.0.20", "role": "gateway"},
            {"name": "w1", "private_ip": "10.10.0.21", "machine_type": "worker"},
        ],
    )
    assert upgrade_command(config, config.nodes[0]) == (
        "talosctl upgrade -n 10.10.0.20 -e 10.10.0.20 --image " + config.role_images["gateway"]
    )
    text = next_steps(config, "out")
    assert "get-console-output" not in text and "talos-v1.13.5-eu-west-1-arm64" in text
    after_bootstrap = text[text.index("talosctl bootstrap") :]
    for node in config.nodes:
        command = upgrade_command(config, node)
        assert command.endswith(f"--image {config.node_image(node)}") and "--preserve" not in command
        assert text.index(apply_config_command(config, node)) < text.index(command)
        assert command in after_bootstrap
    assert "Talos 1.8" in text  # says why there is no --preserve


def test_ami_runbook_names_an_explicit_ami():
    text = next_steps(manual_config(talos={"install_method": "talos-ami", "ami_id": "ami-0123456789abcdef0"}), "out")
    assert "official Talos AMI (ami-0123456789abcdef0)" in text


def test_steps_say_where_they_run():
    book = runbook(manual_config(), "out")
    where = {s.id: s.where for s in book.steps}
    assert {where[i] for i in ("deploy", "node-consoles", "copy-files", "reach-bastion")} == {"operator"}
    assert {where[i] for i in ("tools", "watch-nodes", "configure-talos", "bootstrap", "install-cozystack")} == {"bastion"}
    # terraform's state is on the operator's machine: no bastion step may call terraform.
    assert not any("terraform " in c.run for s in book.steps if s.where == "bastion" for c in s.commands)


def test_tools_are_pinned_to_the_nodes_talos_and_verified_twice():
    config = manual_config()
    tools = [c.run for c in step(runbook(config, "out"), "tools").commands]
    release = config.talos_release
    [talosctl] = [c for c in tools if "talosctl-linux-arm64" in c]
    assert f"/download/{release.talosctl.version}/talosctl-linux-arm64" in talosctl
    assert f"echo '{release.talosctl.sha256['arm64']}  talosctl-linux-arm64' | sha256sum -c -" in talosctl
    assert "sha256sum -c --ignore-missing sha256sum.txt" in talosctl
    assert talosctl.index("sha256sum -c") < talosctl.index("install -m 0755")
    [kubectl] = [c for c in tools if "/kubectl " in c or "kubectl \\" in c or c.startswith("curl -fsSLO https://dl.k8s.io")]
    assert release.kubectl.sha256["arm64"] in kubectl and "kubectl.sha256" in kubectl
    assert any("helm-v3.18.4-linux-arm64.tar.gz" in c for c in tools)


def test_copy_files_bundles_the_stacks_folders():
    commands = [c.run for c in step(runbook(manual_config(), "out"), "copy-files").commands]
    assert commands[0].startswith("tar -czf cozy-demo-files.tar.gz talos cozystack && ")
    with_ssh = manual_config(bastion={"ssh_ipv6_cidrs": ["2001:db8:1::/64"]})
    with_key = manual_config(bastion={"ssh_ipv6_cidrs": ["2001:db8:1::/64"], "ssh_public_keys": [SSH_KEY]})
    assert step(runbook(with_key, "out"), "copy-files").commands[-1].run == (
        "ssh -6 ec2-user@$(terraform output -raw bastion_ipv6) bash < cozy-demo-files.sh"
    )


def test_copy_files_over_instance_connect_pushes_a_key_first():
    """No key in bastion.ssh_public_keys: ssh gets in only within a minute of a key push,
    for the $BASTION that reach-bastion (the step before) sets."""
    with_ssh = manual_config(bastion={"ssh_ipv6_cidrs": ["2001:db8:1::/64"]})
    book = runbook(with_ssh, "out")
    ids = [s.id for s in book.steps]
    assert ids.index("reach-bastion") < ids.index("copy-files")
    copy = step(book, "copy-files").commands[-1].run
    assert copy.startswith("aws ec2-instance-connect send-ssh-public-key") and "--instance-id \"$BASTION\"" in copy
    assert copy.endswith("&& ssh -6 ec2-user@$(terraform output -raw bastion_ipv6) bash < cozy-demo-files.sh")


def test_copy_files_runs_in_the_stack_folder_and_unpacks_on_the_bastion(tmp_path):
    """Run as written: `deploy` cds into the stack folder, then the bundle is made there
    and, run by a shell on the bastion, unpacks the stack's folders into ~/<name>."""

    stack_dir = "cdktf.out/stacks/cozy-demo"
    for path in ("talos/talos-gateway-1.yaml", "cozystack/values.yaml"):
        (tmp_path / stack_dir / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / stack_dir / path).write_text(f"# {path}\n")
    book = runbook(manual_config(), stack_dir)
    [cd, _apply] = [c.run for c in step(book, "deploy").commands]
    make_bundle = step(book, "copy-files").commands[0].run
    subprocess.run(["bash", "-ec", f"{cd} && {make_bundle}"], cwd=tmp_path, check=True)
    home = tmp_path / "bastion-home"
    home.mkdir()
    bundle = tmp_path / stack_dir / "cozy-demo-files.sh"
    subprocess.run(["bash"], stdin=bundle.open(), env={"HOME": str(home), "PATH": "/usr/bin:/bin"}, check=True)
    assert (home / "cozy-demo/talos/talos-gateway-1.yaml").read_text() == "# talos/talos-gateway-1.yaml\n"
    assert (home / "cozy-demo/cozystack/values.yaml").exists()


def test_copy_files_stops_when_a_folder_is_missing(tmp_path):
    make_bundle = step(runbook(manual_config(), "."), "copy-files").commands[0].run
    (tmp_path / "talos").mkdir()  # no cozystack/
    result = subprocess.run(["bash", "-c", make_bundle], cwd=tmp_path, capture_output=True)
    assert result.returncode != 0 and not (tmp_path / "cozy-demo-files.sh").exists()


@pytest.mark.parametrize(("cozystack", "named"), [
    ({}, "cozystack/platform-package.yaml publishes the root tenant's ingress on them (publishing.externalIPs)"),
    ({"version": "v0.41.11"}, "cozystack/configmap.yaml publishes the root tenant's ingress on them (expose-external-ips)"),
])  # fmt: skip
def test_service_addresses_name_the_file_this_release_writes(cozystack, named):
    config = manual_config(
        node_defaults={"instance_type": "m8i.2xlarge"},
        cozystack=cozystack,
        loadbalancer={"mode": "eni-secondary-ips", "addresses": ["10.10.0.50"]},
    )
    notes = " ".join(step(runbook(config, "out"), "service-addresses").notes)
    assert named in notes


def test_dashboard_step_forwards_a_local_port_through_the_bastion_to_the_ingress():
    config = make_config(loadbalancer={"mode": "eni-secondary-ips", "addresses": ["10.10.0.200", "10.10.0.201"]})
    [step] = [s for s in runbook(config, "out").steps if s.id == "dashboard"]
    assert step.where == "operator" and runbook(config, "out").steps[-1] == step
    lookup, session, check = (command.run for command in step.commands)
    assert lookup.startswith("BASTION=$(aws ec2 describe-instances --region eu-west-1")
    assert "--target \"$BASTION\"" in session and "AWS-StartPortForwardingSessionToRemoteHost" in session
    assert "host=10.10.0.200,portNumber=443,localPortNumber=8443" in session
    assert "--resolve dashboard.10-10-0-200.nip.io:8443:127.0.0.1 https://dashboard.10-10-0-200.nip.io:8443/" in check
    notes = " ".join(step.notes)
    assert "127.0.0.1 dashboard.10-10-0-200.nip.io" in notes and "self-signed" in notes
    assert "kubectl get secret -n tenant-root tenant-root" in notes
    assert "dashboard" in next_steps(config, "out")


def test_no_dashboard_step_without_service_addresses_or_cozystack():
    for config in (default_config(), make_config(loadbalancer={"mode": "none"}),
                   make_config(cozystack={"enabled": False},
                               loadbalancer={"mode": "eni-secondary-ips", "addresses": ["10.10.0.200"]})):  # fmt: skip
        assert "dashboard" not in [step.id for step in runbook(config, "out").steps]
