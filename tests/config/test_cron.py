"""Weekly crons: parsing, shifting across midnight, AWS formats and running hours."""

from __future__ import annotations

import pytest

from talos_sandbox.config.cron import CronError, WeeklyCron, monthly_hours, running_minutes_per_week


def test_formats_for_autoscaling_and_eventbridge():
    cron = WeeklyCron.parse("30 7 * * 1-5")
    assert cron.unix() == "30 7 * * MON,TUE,WED,THU,FRI"
    assert cron.eventbridge() == "cron(30 7 ? * MON,TUE,WED,THU,FRI *)"
    assert WeeklyCron.parse("0 9 * * *").unix() == "0 9 * * *"


def test_shift_carries_into_the_next_day():
    assert WeeklyCron.parse("55 23 * * SUN,SAT").shifted(10).unix() == "5 0 * * SUN,MON"
    assert WeeklyCron.parse("5 0 * * MON").shifted(-10).unix() == "55 23 * * SUN"


def test_running_hours():
    assert running_minutes_per_week(WeeklyCron.parse("0 8 * * MON-FRI"), WeeklyCron.parse("0 13 * * MON-FRI")) == 25 * 60
    # Overnight: on at 22:00, off at 03:00, every day.
    assert running_minutes_per_week(WeeklyCron.parse("0 22 * * *"), WeeklyCron.parse("0 3 * * *")) == 35 * 60
    assert monthly_hours(WeeklyCron.parse("0 9 * * *"), WeeklyCron.parse("0 14 * * *")) == pytest.approx(5 * 730 / 24)


@pytest.mark.parametrize(
    "expression",
    ["0 8 * *", "*/5 8 * * *", "0 8-10 * * *", "0 8 1 * *", "0 8 * 1 *", "0 8 * * FUN", "0 8 * * 5-1", "60 8 * * *"],
)
def test_rejects_what_is_not_a_weekly_time(expression):
    with pytest.raises(CronError):
        WeeklyCron.parse(expression)
