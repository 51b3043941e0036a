"""The operator's steps when the bastion brings the cluster up (bring_up.enabled): watch the
status, fetch the credentials, reach the API servers through Session Manager. Nothing
here needs a shell on the bastion; the manual runbook (runbook.py) is for bring_up off.
"""

from __future__ import annotations

from ..config import SandboxConfig
from ..documents.cluster_plan import OPERATOR_API_SERVER, cluster_parameters
from .runbook_model import Command, Step, find_bastion, port_forward

TALOS_API_PORT = 50000
KUBERNETES_API_PORT = 6443


def read_parameter(config: SandboxConfig, key: str, into: str | None = None) -> str:
    """`aws ssm get-parameter` of one cluster parameter, into a file only you can read."""
    name = cluster_parameters(config)[key].name
    read = (
        f"aws ssm get-parameter --region {config.region} --name {name} --with-decryption "
        "--query Parameter.Value --output text"
    )
    return f"(umask 077; {read} > {into})" if into else read


def _watch(config: SandboxConfig) -> Step:
    return Step(
        "watch-bring-up",
        "Watch the bastion bring the cluster up",
        notes=(
            "talos-sandbox-cluster.service on the bastion downloads talosctl and kubectl (both checked twice), "
            "makes the cluster's secrets once, configures each node as it reaches maintenance mode, bootstraps "
            "etcd once, waits for Kubernetes and runs `talosctl health` (README, \"What happens after apply\").",
            "The status is JSON: phase (tools, secrets, configuring, bootstrapping, kubernetes, health, ready; "
            "failed only for a download that failed its check), each node's state, the last error and its time.",
            "Reading it needs the policy `terraform output -raw cluster_read_policy_arn` (or an administrator). "
            "The bastion's console shows the same lines (aws ec2 get-console-output for $BASTION).",
        ),
        commands=(Command(read_parameter(config, "status")),),
    )


def _credentials(config: SandboxConfig) -> Step:
    return Step(
        "fetch-credentials",
        "Fetch the kubeconfig and talosconfig once the phase is ready",
        notes=(
            f"The kubeconfig names {OPERATOR_API_SERVER}: the port forward of the next step (the API server's "
            "certificate names 127.0.0.1 too).",
        ),
        commands=(
            Command(read_parameter(config, "kubeconfig", into="kubeconfig")),
            Command(read_parameter(config, "talosconfig", into="talosconfig")),
        ),
    )


def _reach_api(config: SandboxConfig) -> Step:
    first = config.first_control_plane.private_ip
    return Step(
        "reach-api",
        f"Reach the Kubernetes API ({first}:{KUBERNETES_API_PORT}) from your machine through the bastion",
        notes=(
            "Session Manager forwards a local port to the first control plane through the bastion (the Session "
            "Manager plugin for the AWS CLI must be installed); leave it running and use another terminal.",
            f"Talos' API the same way: forward {TALOS_API_PORT}, then talosctl with -e 127.0.0.1 -n {first}.",
        ),
        commands=(
            find_bastion(config),
            port_forward(config, str(first), KUBERNETES_API_PORT, KUBERNETES_API_PORT),
            Command("KUBECONFIG=$PWD/kubeconfig kubectl get nodes -o wide"),
            Command(f"talosctl --talosconfig talosconfig -e 127.0.0.1 -n {first} version  # with {TALOS_API_PORT} forwarded"),
        ),
    )


def bring_up_steps(config: SandboxConfig) -> list[Step]:
    return [_watch(config), _credentials(config), _reach_api(config)]
