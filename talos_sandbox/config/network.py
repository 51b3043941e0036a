"""network: the VPC, its subnets, an adopted VPC, flow logs and the S3 endpoint."""

from __future__ import annotations

import ipaddress
import re
from typing import Literal

from pydantic import Field, field_validator, model_validator
from pydantic_core import PydanticCustomError

from .base import ConfigModel, field_error



class FlowLogsConfig(ConfigModel):
    enabled: bool = Field(True, description="VPC flow logs to CloudWatch Logs, encrypted with a KMS key.")
    retention_days: Literal[1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1827, 3653] = Field(
        365, description="Log group retention in days (a CloudWatch Logs allowed value)."
    )


class NetworkConfig(ConfigModel):
    vpc_cidr: ipaddress.IPv4Network = Field(
        ipaddress.IPv4Network("10.10.0.0/16"), description="IPv4 CIDR of the VPC (/16 to /28)."
    )
    subnet_cidr: ipaddress.IPv4Network = Field(
        ipaddress.IPv4Network("10.10.0.0/24"), description="IPv4 CIDR of the one public subnet, inside vpc_cidr."
    )
    availability_zone: str | None = Field(
        None, description="AZ of the subnet, bastion ENI and nodes. Default: the region's `a` zone."
    )
    bastion_subnet_cidr: ipaddress.IPv4Network | None = Field(
        None,
        description="A second subnet, routed to the internet gateway, for the bastion alone. Required "
        "with bastion.ipv4_egress public_ipv4: one subnet cannot route 0.0.0.0/0 to the bastion and "
        "let the bastion itself reach the internet gateway.",
    )
    existing_vpc_id: str | None = Field(
        None, description="Adopt this VPC instead of creating one (needs existing_subnet_id too)."
    )
    existing_subnet_id: str | None = Field(None, description="Adopt this subnet (inside existing_vpc_id).")
    flow_logs: FlowLogsConfig = Field(default_factory=FlowLogsConfig, description="VPC flow logs.")
    s3_gateway_endpoint: bool = Field(True, description="A free S3 gateway endpoint on the subnet's route table.")

    @field_validator("vpc_cidr", "subnet_cidr", "bastion_subnet_cidr")
    @classmethod
    def _aws_prefix_length(cls, value: ipaddress.IPv4Network | None) -> ipaddress.IPv4Network | None:
        if value is not None and not 16 <= value.prefixlen <= 28:
            raise PydanticCustomError(
                "cidr_size", "{cidr} must have a prefix from /16 to /28 (AWS limit)", {"cidr": str(value)}
            )
        return value

    @field_validator("existing_vpc_id")
    @classmethod
    def _vpc_id(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"vpc-[0-9a-f]{8,17}", value):
            raise PydanticCustomError("vpc_id", "'{value}' is not a VPC id (vpc-...)", {"value": value})
        return value

    @field_validator("existing_subnet_id")
    @classmethod
    def _subnet_id(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"subnet-[0-9a-f]{8,17}", value):
            raise PydanticCustomError("subnet_id", "'{value}' is not a subnet id (subnet-...)", {"value": value})
        return value

    @model_validator(mode="after")
    def _subnet_in_vpc(self) -> NetworkConfig:
        if not self.subnet_cidr.subnet_of(self.vpc_cidr):
            raise field_error("network.subnet_cidr", f"{self.subnet_cidr} is not inside vpc_cidr {self.vpc_cidr}")
        if self.bastion_subnet_cidr is not None:
            if not self.bastion_subnet_cidr.subnet_of(self.vpc_cidr):
                raise field_error(
                    "network.bastion_subnet_cidr", f"{self.bastion_subnet_cidr} is not inside vpc_cidr {self.vpc_cidr}"
                )
            if self.bastion_subnet_cidr.overlaps(self.subnet_cidr):
                raise field_error(
                    "network.bastion_subnet_cidr", f"{self.bastion_subnet_cidr} overlaps subnet_cidr {self.subnet_cidr}"
                )
        if (self.existing_vpc_id is None) != (self.existing_subnet_id is None):
            raise field_error(
                "network.existing_subnet_id",
                "existing_vpc_id and existing_subnet_id go together: set both or neither",
            )
        return self

    @property
    def adopts_existing(self) -> bool:
        return self.existing_vpc_id is not None

    @property
    def bastion_subnet(self) -> ipaddress.IPv4Network:
        """Where the bastion's ENI lives: its own subnet if configured, else the nodes' subnet."""
        return self.bastion_subnet_cidr or self.subnet_cidr

    @property
    def router_ip(self) -> ipaddress.IPv4Address:
        """AWS's VPC router: the subnet base + 1."""
        return self.subnet_cidr.network_address + 1

    @property
    def dns_ip(self) -> ipaddress.IPv4Address:
        """The Amazon DNS resolver: the VPC base + 2."""
        return self.vpc_cidr.network_address + 2

    @staticmethod
    def reserved_ips(subnet: ipaddress.IPv4Network) -> tuple[ipaddress.IPv4Address, ...]:
        """The five addresses AWS keeps in every subnet: the first four and the last."""
        base = subnet.network_address
        return (base, base + 1, base + 2, base + 3, subnet.broadcast_address)


