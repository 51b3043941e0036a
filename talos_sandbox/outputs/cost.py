"""Monthly cost estimate of a sandbox, for its schedule and for always-on.

Counts what the sandbox is billed for: instance hours, EBS gp3 GB-months (billed while
stopped too; the registry caches' volume and the nodes' LINSTOR data volumes on lines of
their own), public IPv4 hours (the Elastic IP, billed whether or not it is attached),
flow-log ingestion and storage, and the flow logs' KMS key. Free parts (ENI, S3 gateway
endpoint, Session Manager, a few scheduler calls) and data transfer are not counted.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..config import SandboxConfig
from ..config.cron import HOURS_PER_MONTH, monthly_hours
from ..errors import SandboxError
from ..documents.cluster_plan import cluster_parameters
from ..facts.prices import SSM_ADVANCED_PARAMETER_MONTH, embedded_table

DESIGN_HOURS_PER_DAY = 5  # the design's "5 hrs/day" cost assumption


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RegionPrices(_Strict):
    instance_hourly: dict[str, float]
    gp3_gb_month: float = Field(ge=0)
    public_ipv4_hourly: float = Field(ge=0)
    logs_ingest_gb: float = Field(ge=0)
    logs_storage_gb_month: float = Field(ge=0)
    kms_key_month: float = Field(ge=0)
    # Optional in a --prices file written before the bring-up had parameters.
    ssm_advanced_parameter_month: float = Field(SSM_ADVANCED_PARAMETER_MONTH, ge=0)
    unverified: dict[str, str] = {}
    """Instance type -> why its price is only an estimate (a --prices file that sets it clears it)."""


class Assumptions(_Strict):
    flow_logs_gb_per_month: float = Field(ge=0)


class PriceTable(_Strict):
    as_of: str
    currency: str
    assumptions: Assumptions
    regions: dict[str, RegionPrices]


@dataclass(frozen=True)
class CostLine:
    item: str
    quantity: str
    scheduled: float
    always_on: float


@dataclass(frozen=True)
class CostEstimate:
    name: str
    region: str
    currency: str
    as_of: str
    scenario: str
    lines: tuple[CostLine, ...]
    notes: tuple[str, ...] = ()

    @property
    def totals(self) -> tuple[float, float]:
        return sum(line.scheduled for line in self.lines), sum(line.always_on for line in self.lines)


def load_prices(path: str | Path | None) -> PriceTable:
    """The embedded table, with a --prices file merged over it (its keys win)."""
    table = embedded_table()
    if path is not None:
        try:
            override = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise SandboxError(f"{path}: price file not found") from None
        except yaml.YAMLError as exc:
            raise SandboxError(f"{path}: invalid YAML/JSON: {exc}") from None
        if not isinstance(override, dict):
            raise SandboxError(f"{path}: the top level must be a mapping")
        table = _merge(table, override)
        _clear_unverified(table, override)
    try:
        return PriceTable.model_validate(table)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors(include_url=False))
        raise SandboxError(f"{path}: invalid price table: {problems}") from None


def _clear_unverified(table: dict, override: dict) -> None:
    """A price the file sets is the file's, no longer the embedded estimate."""
    for region, prices in (override.get("regions") or {}).items():
        given = prices.get("instance_hourly") if isinstance(prices, dict) else None
        unverified = table["regions"].get(region, {}).get("unverified")
        if isinstance(given, dict) and isinstance(unverified, dict):
            table["regions"][region]["unverified"] = {k: v for k, v in unverified.items() if k not in given}


def _merge(base: dict, override: dict) -> dict:
    merged = dict(base)
    for key, value in override.items():
        merged[key] = _merge(base[key], value) if isinstance(value, dict) and isinstance(base.get(key), dict) else value
    return merged


def estimate(config: SandboxConfig, table: PriceTable) -> CostEstimate:
    prices = table.regions.get(config.region)
    if prices is None:
        raise SandboxError(
            f"no prices for region {config.region} (known: {', '.join(sorted(table.regions))}); add it with --prices"
        )

    def hourly(instance_type: str) -> float:
        if instance_type not in prices.instance_hourly:
            raise SandboxError(f"no price for {instance_type} in {config.region}; add it with --prices")
        return prices.instance_hourly[instance_type]

    schedule = config.schedule
    if schedule is None:
        scenario = f"design: {DESIGN_HOURS_PER_DAY} h/day"
        bastion_hours = node_hours = DESIGN_HOURS_PER_DAY * HOURS_PER_MONTH / 24
    else:
        scenario = f"schedule ({schedule.start} .. {schedule.stop} {schedule.timezone})"
        bastion_hours = monthly_hours(schedule.bastion_start, schedule.bastion_stop)
        node_hours = monthly_hours(schedule.nodes_start, schedule.nodes_stop) if schedule.nodes else HOURS_PER_MONTH

    lines = []

    def instance(item: str, instance_type: str, hours: float) -> None:
        price = hourly(instance_type)
        lines.append(
            CostLine(
                item, f"{instance_type} {hours:.0f} h / {HOURS_PER_MONTH} h", hours * price, HOURS_PER_MONTH * price
            )
        )

    def fixed(item: str, quantity: str, monthly: float) -> None:
        lines.append(CostLine(item, quantity, monthly, monthly))

    instance("bastion", config.bastion.instance_type, bastion_hours)
    for node in config.nodes:
        instance(f"node {node.name}", config.node_instance_type(node), node_hours)
    volume_gb = config.bastion.root_volume_gb + sum(config.node_root_volume_gb(node) for node in config.nodes)
    fixed("EBS gp3", f"{volume_gb} GB-month", volume_gb * prices.gp3_gb_month)
    if config.data_volume_gb is not None:
        # Its own line: the LINSTOR volumes are the largest storage item and are sized on their own.
        data_gb = config.data_volume_gb * len(config.nodes)
        fixed("EBS gp3 (LINSTOR data)", f"{len(config.nodes)} x {config.data_volume_gb} GB-month",
              data_gb * prices.gp3_gb_month)  # fmt: skip
    caches = config.bastion.registry_caches
    if caches.active:
        # Its own line: it is billed whether or not the bastion runs, and users turn it off.
        fixed("EBS gp3 (registry caches)", f"{caches.volume_gb} GB-month", caches.volume_gb * prices.gp3_gb_month)
    if config.bastion.ipv4_egress == "public_ipv4":
        fixed("public IPv4 (Elastic IP)", f"{HOURS_PER_MONTH} h", HOURS_PER_MONTH * prices.public_ipv4_hourly)
    if config.network.flow_logs.enabled:
        gigabytes = table.assumptions.flow_logs_gb_per_month
        fixed(
            "VPC flow logs",
            f"{gigabytes:g} GB ingested and stored (assumed)",
            gigabytes * (prices.logs_ingest_gb + prices.logs_storage_gb_month),
        )
        fixed("KMS key (flow logs)", "1 key", prices.kms_key_month)
    if config.bring_up.enabled:
        advanced = sum(1 for p in cluster_parameters(config).values() if p.tier == "Advanced")
        fixed("KMS key (cluster parameters)", "1 key", prices.kms_key_month)
        fixed("SSM advanced parameters", f"{advanced} parameters", advanced * prices.ssm_advanced_parameter_month)
    notes: tuple[str, ...] = ()
    used = sorted({config.bastion.instance_type, *(config.node_instance_type(node) for node in config.nodes)})
    for instance_type in (t for t in used if t in prices.unverified):
        notes += (
            f"{instance_type} at ${prices.instance_hourly[instance_type]}/h in {config.region} is unverified "
            f"({prices.unverified[instance_type]}); pass --prices with regions.{config.region}.instance_hourly."
            f"{instance_type} set to the rate you pay.",
        )
    # The official AMIs are shared publicly with no product code (siderolabs/talos:
    # hack/cloud-image-uploader/aws.go), so EC2 bills them like any instance.
    if config.talos.install_method == "talos-ami":
        notes += (
            "install method talos-ami: the same instances and volumes as boot-to-talos, so the same "
            "cost. The official Talos AMI carries no software charge, and skipping the Amazon Linux first "
            "boot saves only minutes, which monthly hours do not show.",
        )
    return CostEstimate(config.name, config.region, table.currency, table.as_of, scenario, tuple(lines), notes)


def format_estimate(estimate: CostEstimate) -> str:
    header = ("item", "quantity", estimate.scenario, "always on")
    rows = [(line.item, line.quantity, f"{line.scheduled:.2f}", f"{line.always_on:.2f}") for line in estimate.lines]
    scheduled, always_on = estimate.totals
    total = ("total / month", "", f"{scheduled:.2f}", f"{always_on:.2f}")
    widths = [max(len(row[column]) for row in [header, *rows, total]) for column in range(4)]

    def line(row: tuple[str, ...]) -> str:
        return "  ".join(
            cell.ljust(width) if column < 2 else cell.rjust(width) for column, (cell, width) in enumerate(zip(row, widths))
        ).rstrip()

    rule = "  ".join("-" * width for width in widths)
    return "\n".join(
        [
            f"{estimate.name} in {estimate.region}: monthly cost in {estimate.currency} "
            f"(list prices as of {estimate.as_of}; data transfer not included)",
            "",
            line(header),
            rule,
            *(line(row) for row in rows),
            rule,
            line(total),
            *(f"\nNote: {note}" for note in estimate.notes),
        ]
    )


def estimate_record(estimate: CostEstimate) -> dict:
    """The estimate for `cost --format json`; amounts rounded to cents, like the table."""
    scheduled, always_on = estimate.totals
    return {
        "name": estimate.name,
        "region": estimate.region,
        "currency": estimate.currency,
        "prices_as_of": estimate.as_of,
        "scenario": estimate.scenario,
        "lines": [
            {
                "item": line.item,
                "quantity": line.quantity,
                "scheduled": round(line.scheduled, 2),
                "always_on": round(line.always_on, 2),
            }
            for line in estimate.lines
        ],
        "total": {"scheduled": round(scheduled, 2), "always_on": round(always_on, 2)},
        "notes": list(estimate.notes),
    }
