"""The runbook's shape: steps of commands, each run on the operator's machine or the bastion."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from ..config import SandboxConfig


@dataclass(frozen=True)
class Command:
    run: str
    """A shell command, runnable as written (continuation lines end in a backslash)."""
    node: str | None = None
    """The node it is for, when a step has commands per node."""


OPERATOR = "operator"
"""Runs on the operator's machine, in the stack folder (terraform and its state are there)."""
BASTION = "bastion"
"""Runs in a shell on the bastion, in the folder the stack's files were copied to."""


@dataclass(frozen=True)
class Step:
    id: str
    """Stable identifier, for tools reading the JSON."""
    title: str
    notes: tuple[str, ...] = ()
    commands: tuple[Command, ...] = ()
    where: str = OPERATOR
    """Where the commands run: OPERATOR or BASTION."""


@dataclass(frozen=True)
class Runbook:
    sandbox: str
    region: str
    stack_dir: str
    steps: tuple[Step, ...]

    def as_dict(self) -> dict[str, object]:
        return dataclasses.asdict(self)


def find_bastion(config: SandboxConfig) -> Command:
    """$BASTION: the running instance on the bastion's static ENI (the Auto Scaling group replaces it)."""
    return Command(
        f"BASTION=$(aws ec2 describe-instances --region {config.region} \\\n"
        "  --filters Name=network-interface.network-interface-id,Values=$(terraform output -raw bastion_eni_id) "
        "Name=instance-state-name,Values=running \\\n"
        "  --query 'Reservations[0].Instances[0].InstanceId' --output text)"
    )


def port_forward(config: SandboxConfig, host: str, port: int, local_port: int) -> Command:
    """A Session Manager tunnel from `local_port` here to host:port, through the bastion ($BASTION)."""
    return Command(
        f"aws ssm start-session --region {config.region} --target \"$BASTION\" \\\n"
        "  --document-name AWS-StartPortForwardingSessionToRemoteHost \\\n"
        f"  --parameters host={host},portNumber={port},localPortNumber={local_port}"
    )
