"""loadbalancer: how service addresses reach the cluster inside a VPC."""

from __future__ import annotations

import ipaddress
from typing import Literal

from pydantic import Field

from .base import ConfigModel



class LoadBalancerConfig(ConfigModel):
    mode: Literal["metallb-l2", "eni-secondary-ips", "none"] = Field(
        "metallb-l2",
        description="How service addresses reach the cluster. metallb-l2 is the design's and does not work "
        "on a VPC (lint TSL001); eni-secondary-ips assigns `addresses` as secondary private IPs on the "
        "gateway node's interface, so the VPC delivers their traffic.",
    )
    addresses: tuple[ipaddress.IPv4Address, ...] = Field(
        (), description="Service addresses (in the nodes' subnet) for MetalLB / CozyStack."
    )


