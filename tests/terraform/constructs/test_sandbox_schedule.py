"""SandboxSchedule: bastion by ASG scheduled actions, nodes by EventBridge Scheduler."""

from __future__ import annotations

import json

from ...conftest import make_config, resources_of

SCHEDULE = {"start": "0 8 * * MON-FRI", "stop": "0 13 * * MON-FRI", "timezone": "Europe/Dublin"}


def test_no_schedule_by_default(default_stack):
    assert resources_of(default_stack, "aws_autoscaling_schedule") == {}
    assert resources_of(default_stack, "aws_scheduler_schedule") == {}


def test_bastion_scheduled_actions(synth):
    _, stack = synth(make_config(schedule=SCHEDULE))
    actions = {a["scheduled_action_name"]: a for a in resources_of(stack, "aws_autoscaling_schedule").values()}
    start, stop = actions["cozy-demo-bastion-start"], actions["cozy-demo-bastion-stop"]
    assert start["recurrence"] == "0 8 * * MON,TUE,WED,THU,FRI" and start["desired_capacity"] == 1
    assert stop["recurrence"] == "0 13 * * MON,TUE,WED,THU,FRI" and stop["desired_capacity"] == 0
    assert start["time_zone"] == "Europe/Dublin"


def test_nodes_start_after_and_stop_before_the_bastion(synth):
    _, stack = synth(make_config(schedule={**SCHEDULE, "stagger_minutes": 15}))
    schedules = {s["name"]: s for s in resources_of(stack, "aws_scheduler_schedule").values()}
    assert schedules["cozy-demo-nodes-start"]["schedule_expression"] == "cron(15 8 ? * MON,TUE,WED,THU,FRI *)"
    assert schedules["cozy-demo-nodes-stop"]["schedule_expression"] == "cron(45 12 ? * MON,TUE,WED,THU,FRI *)"
    start = schedules["cozy-demo-nodes-start"]
    assert start["target"]["arn"] == "arn:aws:scheduler:::aws-sdk:ec2:startInstances"
    assert len(json.loads(start["target"]["input"])["InstanceIds"]) == 3
    assert start["flexible_time_window"] == {"mode": "OFF"}


def test_scheduler_role_may_only_start_and_stop_the_nodes(synth):
    _, stack = synth(make_config(schedule=SCHEDULE))
    [policy] = [p for name, p in resources_of(stack, "aws_iam_role_policy").items() if name.startswith("schedule_")]
    [statement] = json.loads(policy["policy"])["Statement"]
    assert statement["Action"] == ["ec2:StartInstances", "ec2:StopInstances"]
    assert len(statement["Resource"]) == 3 and all(".arn}" in r for r in statement["Resource"])


def test_bastion_only_schedule_leaves_nodes_alone(synth):
    _, stack = synth(make_config(schedule={**SCHEDULE, "nodes": False}))
    assert len(resources_of(stack, "aws_autoscaling_schedule")) == 2
    assert resources_of(stack, "aws_scheduler_schedule") == {}
