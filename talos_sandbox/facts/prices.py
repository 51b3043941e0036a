"""The embedded price table for `cost`: dated, per region, overridable with --prices.

On-Demand Linux list prices in USD, compiled on 2026-11-01 from AWS's public pricing
pages for the two regions the design uses. They were not re-read from a live price list
on the machine that built this (no network), so treat them as an estimate and pass
`--prices FILE` (same shape, YAML or JSON) to use your own. A type or region missing
here is reported, never guessed.

Graviton prices are linear in size within a family, so each family lists its `large`
price and the sizes are derived from it (t4g lists every size). m7g was checked against
AWS's Price List (us-east-1, publication of 2026-09-25: m7g.2xlarge $0.3264, as the
table derives).

amd64 (x86_64) prices are **unverified**: no AWS price list was readable here for M8i,
the family the amd64 CozyStack profile uses. The us-east-1 figure is a public
repository's instance catalog (m8i.large $0.1008, the same as M7i's, which third-party
tables disagree with by up to 5 %); eu-west-1 scales it by m7g's eu-west-1/us-east-1
ratio. `cost` names every unverified price it used; a --prices file that sets the type
replaces the figure and the warning.
"""

from __future__ import annotations

AS_OF = "2026-11-01"
# AWS Systems Manager pricing, "Parameter Store": an advanced parameter costs $0.05 a month
# (standard ones are free) in every commercial region; the bring-up's secrets, talosconfig
# and kubeconfig are advanced (they may pass the standard tier's 4 KB).
SSM_ADVANCED_PARAMETER_MONTH = 0.05

_SIZE_FACTORS = {"medium": 0.5, "large": 1, "xlarge": 2, "2xlarge": 4, "4xlarge": 8, "8xlarge": 16}
_T4G_SIZE_FACTORS = {"nano": 1 / 16, "micro": 1 / 8, "small": 1 / 4, "medium": 1 / 2, "large": 1, "xlarge": 2, "2xlarge": 4}

# USD per hour of the `large` size.
_LARGE_HOURLY = {
    "us-east-1": {
        "t4g": 0.0672, "m6g": 0.077, "m7g": 0.0816, "m8g": 0.08976,
        "c6g": 0.068, "c7g": 0.0725, "c8g": 0.07976,
        "r6g": 0.1008, "r7g": 0.1071, "r8g": 0.11782,
    },
    "eu-west-1": {
        "t4g": 0.0736, "m6g": 0.086, "m7g": 0.0912,
        "c6g": 0.077, "c7g": 0.0816,
        "r6g": 0.1128, "r7g": 0.1198,
    },
}  # fmt: skip

# Unverified: USD per hour of the `large` size (see above), per region.
_UNVERIFIED_LARGE_HOURLY = {
    "us-east-1": {"m8i": 0.1008},
    "eu-west-1": {"m8i": round(0.1008 * 0.0912 / 0.0816, 4)},
}
UNVERIFIED_SOURCE = (
    "an estimate: a public repository's instance catalog for us-east-1 (eu-west-1 scaled by m7g's "
    "regional ratio), not AWS's price list"
)

_REGION_SERVICES = {
    "us-east-1": {"gp3_gb_month": 0.08, "logs_ingest_gb": 0.50, "logs_storage_gb_month": 0.03},
    "eu-west-1": {"gp3_gb_month": 0.088, "logs_ingest_gb": 0.57, "logs_storage_gb_month": 0.03},
}


def _instance_prices(region: str, table: dict[str, dict[str, float]]) -> dict[str, float]:
    prices = {}
    for family, large in table[region].items():
        factors = _T4G_SIZE_FACTORS if family == "t4g" else _SIZE_FACTORS
        for size, factor in factors.items():
            prices[f"{family}.{size}"] = round(large * factor, 5)
    return prices


def embedded_table() -> dict:
    """The table in the shape a --prices file uses."""
    return {
        "as_of": AS_OF,
        "currency": "USD",
        "assumptions": {"flow_logs_gb_per_month": 1.0},
        "regions": {
            region: {
                "instance_hourly": {**_instance_prices(region, _LARGE_HOURLY),
                                    **_instance_prices(region, _UNVERIFIED_LARGE_HOURLY)},
                "unverified": {instance_type: UNVERIFIED_SOURCE
                               for instance_type in _instance_prices(region, _UNVERIFIED_LARGE_HOURLY)},
                **services,
                "public_ipv4_hourly": 0.005,
                "kms_key_month": 1.0,
                "ssm_advanced_parameter_month": SSM_ADVANCED_PARAMETER_MONTH,
            }
            for region, services in _REGION_SERVICES.items()
        },
    }
