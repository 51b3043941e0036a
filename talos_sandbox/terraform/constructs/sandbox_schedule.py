"""SandboxSchedule: start and stop the sandbox on a weekly schedule.

The bastion follows the Auto Scaling group's scheduled actions (desired 1 / 0); the nodes
are started and stopped by EventBridge Scheduler through a role that may only start and
stop those instances. Nodes start `stagger_minutes` after the bastion and stop as long
before it, so they never run without their IPv4 route.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from constructs import Construct

from .. import bindings as tf
from ...config import ScheduleConfig
from ..policy_documents import statement
from .service_role import ServiceRole, ServiceRoleProps


@dataclass(frozen=True)
class SandboxScheduleProps:
    name: str
    schedule: ScheduleConfig
    autoscaling_group_name: str
    node_instance_ids: tuple[str, ...]
    node_instance_arns: tuple[str, ...]


class SandboxSchedule(Construct):
    def __init__(self, scope: Construct, construct_id: str, props: SandboxScheduleProps) -> None:
        super().__init__(scope, construct_id)
        schedule = props.schedule
        for action, cron, size in (("start", schedule.bastion_start, 1), ("stop", schedule.bastion_stop, 0)):
            tf.AutoscalingSchedule(
                self,
                f"bastion-{action}",
                autoscaling_group_name=props.autoscaling_group_name,
                scheduled_action_name=f"{props.name}-bastion-{action}",
                recurrence=cron.unix(),
                time_zone=schedule.timezone,
                min_size=size,
                max_size=1,
                desired_capacity=size,
            )
        if not schedule.nodes:
            return

        role = ServiceRole(
            self,
            "scheduler-role",
            ServiceRoleProps(
                name=f"{props.name}-node-scheduler",
                service="scheduler.amazonaws.com",
                statements=[
                    statement(["ec2:StartInstances", "ec2:StopInstances"], props.node_instance_arns, sid="TheSandboxNodes")
                ],
                policy_name="start-stop-nodes",
            ),
        ).role
        for action, cron in (("start", schedule.nodes_start), ("stop", schedule.nodes_stop)):
            tf.SchedulerSchedule(
                self,
                f"nodes-{action}",
                name=f"{props.name}-nodes-{action}",
                description=f"talos-sandbox: {action} the nodes of {props.name}",
                schedule_expression=cron.eventbridge(),
                schedule_expression_timezone=schedule.timezone,
                flexible_time_window=tf.SchedulerScheduleFlexibleTimeWindow(mode="OFF"),
                target=tf.SchedulerScheduleTarget(
                    # The universal target calls the EC2 API directly; no Lambda to maintain.
                    arn=f"arn:aws:scheduler:::aws-sdk:ec2:{action}Instances",
                    role_arn=role.arn,
                    input=json.dumps({"InstanceIds": list(props.node_instance_ids)}),
                ),
            )
