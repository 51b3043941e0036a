"""Cost estimate: totals against figures worked out by hand, unknowns named, overrides."""

from __future__ import annotations

import pytest

from talos_sandbox.config import default_config
from talos_sandbox.outputs.cost import estimate, estimate_record, format_estimate, load_prices
from talos_sandbox.errors import SandboxError

from ..conftest import make_config

US_EAST_SCHEDULED = make_config(
    region="us-east-1",
    network={"bastion_subnet_cidr": "10.10.1.0/28", "flow_logs": {"enabled": False}},
    bastion={"ipv4_egress": "public_ipv4", "private_ip": "10.10.1.10"},
    node_defaults={"instance_type": "m7g.2xlarge"},
    schedule={"start": "0 8 * * MON-FRI", "stop": "0 13 * * MON-FRI"},
)


def lines(result) -> dict[str, tuple[float, float]]:
    return {line.item: (line.scheduled, line.always_on) for line in result.lines}


def test_default_design_by_hand():
    result = estimate(default_config(), load_prices(None))
    # 5 h/day = 5 * 730 / 24 = 152.083 h; eu-west-1 t4g.small 0.0184/h, t4g.medium 0.0368/h.
    by_item = lines(result)
    assert by_item["bastion"] == pytest.approx((152.0833 * 0.0184, 730 * 0.0184), abs=1e-3)
    assert by_item["node talos-gateway-1"] == pytest.approx((152.0833 * 0.0368, 730 * 0.0368), abs=1e-3)
    assert by_item["EBS gp3"] == pytest.approx((158 * 0.088, 158 * 0.088))  # 8 + 3 x 50 GB
    assert by_item["VPC flow logs"] == pytest.approx((0.60, 0.60))
    assert by_item["KMS key (flow logs)"] == (1.0, 1.0)
    assert by_item["EBS gp3 (registry caches)"] == pytest.approx((20 * 0.088, 20 * 0.088))
    # The bring-up: its KMS key, and the secrets, talosconfig and kubeconfig as advanced parameters.
    assert by_item["KMS key (cluster parameters)"] == (1.0, 1.0)
    assert by_item["SSM advanced parameters"] == pytest.approx((0.15, 0.15))
    assert by_item["EBS gp3 (LINSTOR data)"] == pytest.approx((150 * 0.088, 150 * 0.088))  # 3 x 50 GB
    assert result.totals == pytest.approx((35.09 + 1.76 + 13.20 + 1.15, 109.53 + 1.76 + 13.20 + 1.15), abs=0.01)


def test_registry_caches_cost_their_volume_and_nothing_when_off():
    sized = lines(estimate(make_config(bastion={"registry_caches": {"volume_gb": 50}}), load_prices(None)))
    assert sized["EBS gp3 (registry caches)"] == pytest.approx((50 * 0.088, 50 * 0.088))
    off = lines(estimate(make_config(bastion={"registry_caches": {"enabled": False}}), load_prices(None)))
    assert "EBS gp3 (registry caches)" not in off


def test_scheduled_public_ipv4_sandbox_by_hand():
    result = estimate(US_EAST_SCHEDULED, load_prices(None))
    by_item = lines(result)
    # Bastion 08:00-13:00, 5 days: 25 h/week = 108.63 h/month; nodes 08:10-12:50: 101.39 h.
    assert by_item["bastion"] == pytest.approx((108.631 * 0.0168, 730 * 0.0168), abs=1e-3)
    assert by_item["node talos-compute-3"] == pytest.approx((101.389 * 0.3264, 730 * 0.3264), abs=1e-2)
    assert by_item["public IPv4 (Elastic IP)"] == pytest.approx((3.65, 3.65))
    assert "VPC flow logs" not in by_item
    # + 20 GB caches and 3 x 50 GB LINSTOR data at 0.08, + the bring-up's key and advanced parameters
    assert result.totals == pytest.approx((117.40 + 1.60 + 12.00 + 1.15, 743.37 + 1.60 + 12.00 + 1.15), abs=0.01)


def test_unknown_instance_type_is_named_not_guessed():
    config = make_config(node_defaults={"instance_type": "m8gd.large"})
    with pytest.raises(SandboxError, match="no price for m8gd.large in eu-west-1"):
        estimate(config, load_prices(None))


def test_unknown_region_is_named():
    with pytest.raises(SandboxError, match="no prices for region ap-south-1"):
        estimate(make_config(region="ap-south-1"), load_prices(None))


def test_price_file_adds_and_overrides(tmp_path):
    prices = tmp_path / "prices.yaml"
    prices.write_text("regions:\n  eu-west-1:\n    instance_hourly:\n      m8gd.large: 0.12\n    gp3_gb_month: 0.1\n")
    table = load_prices(prices)
    result = estimate(make_config(node_defaults={"instance_type": "m8gd.large"}), table)
    assert lines(result)["node talos-gateway-1"][1] == pytest.approx(730 * 0.12)
    assert lines(result)["EBS gp3"][0] == pytest.approx(15.8)
    assert table.regions["eu-west-1"].instance_hourly["t4g.small"] == 0.0184, "the rest stays embedded"


def test_bad_price_file_is_an_error(tmp_path):
    prices = tmp_path / "prices.yaml"
    prices.write_text("regions:\n  eu-west-1:\n    gp3_gb_month: cheap\n")
    with pytest.raises(SandboxError, match="gp3_gb_month"):
        load_prices(prices)


def test_table_reads_in_a_terminal():
    text = format_estimate(estimate(default_config(), load_prices(None)))
    lines_ = text.splitlines()
    assert "list prices as of 2026-11-01" in lines_[0]
    assert lines_[2].split()[:2] == ["item", "quantity"] and "always on" in lines_[2]
    assert lines_[-1].startswith("total / month") and lines_[-1].endswith("125.64")
    assert max(len(line) for line in lines_[2:]) < 120


def test_record_has_stable_keys_and_the_table_totals():
    result = estimate(default_config(), load_prices(None))
    record = estimate_record(result)
    assert set(record) == {"name", "region", "currency", "prices_as_of", "scenario", "lines", "total", "notes"}
    assert all(set(line) == {"item", "quantity", "scheduled", "always_on"} for line in record["lines"])
    assert record["total"] == {"scheduled": 51.2, "always_on": 125.64} and record["notes"] == []
    assert [line["item"] for line in record["lines"]][:2] == ["bastion", "node talos-gateway-1"]


def test_ami_method_costs_the_same_and_says_so():
    prices = load_prices(None)
    ami = estimate(make_config(talos={"install_method": "talos-ami"}), prices)
    boot = estimate(default_config(), prices)
    assert ami.lines == boot.lines and boot.notes == ()
    assert "install method talos-ami: the same instances and volumes" in format_estimate(ami)


def test_data_volumes_cost_per_node_and_nothing_when_none():
    sized = lines(estimate(make_config(node_defaults={"instance_type": "t4g.medium", "data_volume_gb": 256}), load_prices(None)))
    assert sized["EBS gp3 (LINSTOR data)"] == pytest.approx((3 * 256 * 0.088, 3 * 256 * 0.088))
    none = lines(estimate(make_config(node_defaults={"instance_type": "t4g.medium", "data_volume_gb": None}), load_prices(None)))
    assert "EBS gp3 (LINSTOR data)" not in none


AMD64 = make_config(node_defaults={"instance_type": "m8i.2xlarge"})


def test_an_unverified_price_is_used_and_named_until_a_price_file_sets_it(tmp_path):
    result = estimate(AMD64, load_prices(None))
    assert lines(result)["node talos-gateway-1"][1] == pytest.approx(730 * 0.4508)  # 0.1008 x 4 x 0.0912 / 0.0816
    [note] = result.notes
    assert note.startswith("m8i.2xlarge at $0.4508/h in eu-west-1 is unverified")
    assert "regions.eu-west-1.instance_hourly.m8i.2xlarge" in note and note in format_estimate(result)
    assert estimate_record(result)["notes"] == [note]
    prices = tmp_path / "prices.yaml"
    prices.write_text("regions:\n  eu-west-1:\n    instance_hourly:\n      m8i.2xlarge: 0.47\n")
    overridden = estimate(AMD64, load_prices(prices))
    assert overridden.notes == () and lines(overridden)["node talos-gateway-1"][1] == pytest.approx(730 * 0.47)
    assert "m8i.xlarge" in load_prices(prices).regions["eu-west-1"].unverified, "only the type the file sets"


def test_the_cozystack_profiles_cost_scheduled_and_always_on():
    from talos_sandbox.config import load_config

    from ..conftest import REPO_ROOT

    totals = {}
    for arch in ("arm64", "amd64"):
        result = estimate(load_config(REPO_ROOT / "examples" / f"cozystack-{arch}.yaml"), load_prices(None))
        by_item = lines(result)
        assert by_item["EBS gp3 (LINSTOR data)"] == pytest.approx((3 * 256 * 0.088,) * 2)
        assert by_item["public IPv4 (Elastic IP)"] == pytest.approx((3.65, 3.65))
        totals[arch] = tuple(round(total, 2) for total in result.totals)
        assert bool(result.notes) is (arch == "amd64"), "only M8i's price is unverified"
    # Nodes 08:10-17:50 on weekdays (210 h), the rest always billed; the README quotes these.
    assert totals == {"arm64": (323.49, 901.99), "amd64": (377.68, 1090.33)}
