"""The runbook's CozyStack steps: its install by hand (without the bring-up, v0, or v1 before
its chart is pinned), watching the bastion install it, and its dashboard through the bastion."""

from __future__ import annotations

from ..config import SandboxConfig
from ..documents import cozystack
from ..documents.cluster_plan import installs_cozystack
from ..documents.talos_commands import talos_health_command
from ..documents.talos_storage import LINSTOR_POOL, LOCAL_CLASS, PARTITION_LABEL, REPLICAS, REPLICATED_CLASS
from ..facts.releases import COZY_INSTALLER_CHART
from .bring_up_runbook import read_parameter
from .runbook_model import BASTION, Command, Step, find_bastion, port_forward


def cozystack_steps(config: SandboxConfig) -> list[Step]:
    """CozyStack's install by hand: without the bring-up, with v0 (whose installer has no
    recorded checksum), or with v1 before its chart is pinned (lint TSL017)."""
    if not config.cozystack.enabled or (installs_cozystack(config) and config.cozystack_chart_sha256):
        return []
    storage = [_linstor_storage(config)] if config.cozystack.major >= 1 else []
    return [_install(config), *storage, _health(config)]


def _install(config: SandboxConfig) -> Step:
    version, namespace = config.cozystack.version, cozystack.NAMESPACE
    if config.cozystack.major == 0:
        notes = (
            f"As CozyStack's v0 install guide gives it; {cozystack.CONFIGMAP_FILE} holds this network's values "
            f"(root-host {cozystack.root_host(config)}, api-server-endpoint {config.control_plane_endpoint}).",
            "`rollout status` returns once the installer's pod is ready (a `wait --for=condition=Available` "
            "returns at once: one replica, maxUnavailable 1).",
        )
        commands = (
            f"kubectl create ns {namespace} --dry-run=client --output yaml | kubectl apply -f -",
            f"kubectl apply -f {cozystack.CONFIGMAP_FILE}",
            f"kubectl apply -f {cozystack.installer_url(version)}",
            f"kubectl rollout status deployment/cozystack -n {namespace} --timeout=15m",
        )
    else:
        notes = (
            f"As CozyStack's v1 install guide gives it: the cozy-installer chart with {cozystack.HELM_VALUES_FILE} "
            f"(the operator and packages of the release matrix, {config.architecture}), then the platform Package "
            f"{cozystack.PACKAGE_FILE} (host {cozystack.root_host(config)}).",
            "The operator creates the Package CRDs and the PackageSource; the Package goes in once both exist.",
        )
        commands = (
            f"helm upgrade --install cozystack {COZY_INSTALLER_CHART} --version {cozystack.chart_version(config)} \\\n"
            f"  --namespace {namespace} --create-namespace -f {cozystack.HELM_VALUES_FILE} --wait --timeout 10m",
            f"kubectl rollout status deployment/cozystack-operator -n {namespace} --timeout=15m",
            # `kubectl wait` fails at once on a CRD that does not exist yet: retry until both do.
            "until kubectl wait crd/packages.cozystack.io crd/packagesources.cozystack.io "
            "--for=condition=Established --timeout=60s 2>/dev/null; do sleep 10; done",
            f"until kubectl get packagesource {cozystack.PACKAGE_SOURCE} >/dev/null 2>&1; do sleep 10; done",
            f"kubectl apply -f {cozystack.PACKAGE_FILE}",
        )
    return Step("install-cozystack", f"Install CozyStack {version}", notes=notes,
                commands=tuple(Command(c) for c in commands), where=BASTION)  # fmt: skip


LINSTOR_CLI = f"kubectl exec -n {cozystack.LINSTOR_NAMESPACE} deploy/linstor-controller -- linstor"


def _linstor_storage(config: SandboxConfig) -> Step:
    """CozyStack v1's storage, as its install guide gives it: a pool on every node's LINSTOR
    partition (Talos names its kernel path), failmode=continue, the two storage classes."""
    namespace, pool = cozystack.LINSTOR_NAMESPACE, LINSTOR_POOL
    commands = [f"kubectl wait hr -n {namespace} linstor --for=condition=Ready --timeout=30m"]
    # From the operator's machine (bring-up) Talos' API is the reach-api forward of 50000.
    talosctl = "talosctl --talosconfig talosconfig -e 127.0.0.1" if config.bring_up.enabled else "talosctl"
    for node in config.nodes:
        location = f"{talosctl} -n {node.private_ip} get volumestatus {PARTITION_LABEL} -o jsonpath='{{.spec.location}}'"
        commands.append(f"{LINSTOR_CLI} physical-storage create-device-pool zfs {node.name} \"$({location})\" "
                        f"--pool-name {pool} --storage-pool {pool}")  # fmt: skip
        satellite = (f"kubectl get pods -n {namespace} -l {cozystack.LINSTOR_SATELLITES} "
                     f"--field-selector spec.nodeName={node.name} -o name")  # fmt: skip
        commands.append(f"kubectl exec -n {namespace} \"$({satellite})\" -c linstor-satellite -- zpool set failmode=continue {pool}")
    commands.append(f"kubectl apply -f {cozystack.STORAGE_CLASSES_FILE}")
    return Step(
        "linstor-storage",
        f"Give LINSTOR its storage pool `{pool}` on every node, and the storage classes",
        notes=(
            f"Each node's LINSTOR partition is Talos' raw volume {PARTITION_LABEL} (a data volume, or the rest of "
            "the root in the single-disk layout); Talos names its kernel path.",
            f"{cozystack.STORAGE_CLASSES_FILE}: `{LOCAL_CLASS}` (the default class, one copy on the node using it) "
            f"and `{REPLICATED_CLASS}` (copies on {min(REPLICAS, len(config.nodes))} nodes through DRBD).",
        ),
        commands=tuple(Command(c) for c in commands),
        where=BASTION,
    )


def watch_cozystack(config: SandboxConfig) -> Step:
    """With bring-up and a pinned chart the bastion installs CozyStack: the operator watches."""
    return Step(
        "watch-cozystack",
        f"Watch the bastion install CozyStack {config.cozystack.version}",
        notes=(
            "After `health` the unit's phase is `cozystack`: it pulls the cozy-installer chart and checks its "
            "pinned sha256, installs it once, applies the platform Package once the operator's PackageSource "
            f"exists, the storage classes `{LOCAL_CLASS}` and `{REPLICATED_CLASS}`, a LINSTOR pool `{LINSTOR_POOL}` "
            "on every node, then waits for every HelmRelease (README, \"CozyStack\").",
            "The status's `cozystack` shows the HelmReleases ready of all, the failed ones by name, and each "
            "node's pool; `ready` comes when all are ready. The first install takes 15-30 minutes.",
            "On your machine, with the reach-api port forward running and KUBECONFIG=$PWD/kubeconfig, the "
            "same from Kubernetes:",
        ),
        commands=(
            Command(read_parameter(config, "status")),
            Command("kubectl get hr -A"),
            Command("kubectl get storageclass"),
            Command(f"{LINSTOR_CLI} storage-pool list"),
        ),
    )


def _health(config: SandboxConfig) -> Step:
    commands = [
        "until [ \"$(kubectl get hr -A --no-headers 2>/dev/null | wc -l)\" -gt 10 ]; do sleep 10; done",
        "kubectl wait hr --all -A --for=condition=Ready --timeout=30m",
        "kubectl wait hr --all -A --for=condition=Ready --timeout=30m  # again: some are created later",
        "kubectl get nodes -o wide",
        talos_health_command(config),
    ]
    notes = [
        "The installer creates the HelmReleases over some minutes: the first command waits until they are listed.",
        "Healthy when every HelmRelease is READY True, every node Ready and `talosctl health` passes.",
    ]
    if config.cozystack.bundle == "paas-full":
        commands.append(f"{LINSTOR_CLI} node list")
        notes.append("LINSTOR lists every node Online.")
    return Step(
        "cozystack-health",
        "Check that CozyStack is healthy",
        notes=tuple(notes),
        commands=tuple(Command(c) for c in commands),
        where=BASTION,
    )


# The local end of the dashboard's tunnel: above 1023, so no root is needed to listen.
DASHBOARD_LOCAL_PORT = 8443


def dashboard(config: SandboxConfig) -> Step | None:
    """CozyStack's dashboard in the operator's browser: Session Manager forwards a local port
    through the bastion to the root ingress on the first load-balancer address, and the
    browser sends the dashboard's name, which must point at the tunnel on this machine."""
    if not config.cozystack.enabled or config.loadbalancer.mode != "eni-secondary-ips":
        return None
    address, host = config.loadbalancer.addresses[0], f"dashboard.{cozystack.root_host(config)}"
    url = f"https://{host}:{DASHBOARD_LOCAL_PORT}/"
    token = "kubectl get secret -n tenant-root tenant-root -o go-template='{{ printf \"%s\\n\" (index .data \"token\" | base64decode) }}'"
    return Step(
        "dashboard",
        f"Open CozyStack's dashboard ({host}) on your machine, through the bastion",
        notes=(
            "Needs the AWS CLI's Session Manager plugin here. The tunnel runs until you stop it (Ctrl-C): "
            f"the bastion's agent forwards {DASHBOARD_LOCAL_PORT} to the root ingress at {address}:443, which "
            "the nodes' security group admits from the VPC only.",
            f"In a second terminal, the second command checks it. For your browser, map the name to the tunnel "
            f"(add `127.0.0.1 {host}` to /etc/hosts), then open {url}.",
            "The certificate is CozyStack's self-signed one (a private sandbox gets no Let's Encrypt "
            "certificate): accept it in the browser.",
            f"Log in with the root tenant's token, read where your kubeconfig is: {token}",
        ),
        commands=(
            find_bastion(config),
            port_forward(config, str(address), 443, DASHBOARD_LOCAL_PORT),
            Command(f"curl -kfsS -o /dev/null --resolve {host}:{DASHBOARD_LOCAL_PORT}:127.0.0.1 {url} && echo 'the dashboard answers'"),
        ),
    )
