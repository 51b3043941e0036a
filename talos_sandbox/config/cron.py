"""Weekly cron schedules: parse, shift by minutes, write for ASG and EventBridge, count hours.

A sandbox schedule is a pair of 5-field Unix cron expressions (start, stop) that fire at
one fixed time on a set of weekdays, e.g. `0 8 * * MON-FRI`. That is what an operator
writes for a working-day sandbox, and it is exact to shift (nodes start a few minutes
after the bastion) and to count (running hours for the cost estimate).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

DAY_NAMES = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")
MINUTES_PER_DAY = 24 * 60
MINUTES_PER_WEEK = 7 * MINUTES_PER_DAY
HOURS_PER_MONTH = 730  # AWS's convention for monthly prices


class CronError(ValueError):
    pass


@dataclass(frozen=True)
class WeeklyCron:
    minute: int
    hour: int
    days: frozenset[int]
    """Weekdays, 0 = Sunday."""

    @classmethod
    def parse(cls, expression: str) -> WeeklyCron:
        fields = expression.split()
        if len(fields) != 5:
            raise CronError(f"'{expression}' must have 5 fields: minute hour day-of-month month day-of-week")
        minute, hour, day_of_month, month, day_of_week = fields
        if not minute.isdigit() or not 0 <= int(minute) <= 59:
            raise CronError(f"'{expression}': the minute must be one number 0-59")
        if not hour.isdigit() or not 0 <= int(hour) <= 23:
            raise CronError(f"'{expression}': the hour must be one number 0-23")
        if day_of_month != "*" or month != "*":
            raise CronError(f"'{expression}': only weekly schedules are supported (day-of-month and month must be *)")
        return cls(int(minute), int(hour), _parse_days(day_of_week, expression))

    def shifted(self, minutes: int) -> WeeklyCron:
        total = self.hour * 60 + self.minute + minutes
        day_carry, minute_of_day = divmod(total, MINUTES_PER_DAY)
        return WeeklyCron(
            minute_of_day % 60, minute_of_day // 60, frozenset((day + day_carry) % 7 for day in self.days)
        )

    def unix(self) -> str:
        """For aws_autoscaling_schedule.recurrence."""
        return f"{self.minute} {self.hour} * * {self._day_list()}"

    def eventbridge(self) -> str:
        """For EventBridge Scheduler: six fields, `?` for day-of-month."""
        return f"cron({self.minute} {self.hour} ? * {self._day_list()} *)"

    def minutes_of_week(self) -> list[int]:
        return sorted(day * MINUTES_PER_DAY + self.hour * 60 + self.minute for day in self.days)

    def _day_list(self) -> str:
        if len(self.days) == 7:
            return "*"
        return ",".join(DAY_NAMES[day] for day in sorted(self.days))


def _parse_days(field: str, expression: str) -> frozenset[int]:
    if field == "*":
        return frozenset(range(7))
    days: set[int] = set()
    for part in field.split(","):
        match = re.fullmatch(r"([A-Za-z]{3}|\d)(?:-([A-Za-z]{3}|\d))?", part)
        if not match:
            raise CronError(f"'{expression}': day-of-week '{part}' is not a day, a range or a list")
        first = _day(match.group(1), expression)
        last = _day(match.group(2), expression) if match.group(2) else first
        if last < first:
            raise CronError(f"'{expression}': day range '{part}' runs backwards")
        days.update(day % 7 for day in range(first, last + 1))
    return frozenset(days)


def _day(text: str, expression: str) -> int:
    if text.isdigit():
        if not 0 <= int(text) <= 7:
            raise CronError(f"'{expression}': day-of-week {text} is not 0-7")
        return int(text)
    if text.upper() not in DAY_NAMES:
        raise CronError(f"'{expression}': '{text}' is not a day name (SUN..SAT)")
    return DAY_NAMES.index(text.upper())


def running_minutes_per_week(start: WeeklyCron, stop: WeeklyCron) -> int:
    """Minutes on per week when `start` turns something on and `stop` turns it off."""
    events = sorted([(minute, True) for minute in start.minutes_of_week()] + [(minute, False) for minute in stop.minutes_of_week()])
    if not any(on for _, on in events) or not any(not on for _, on in events):
        raise CronError("a schedule needs both a start and a stop time")
    # The state at the start of the week is whatever the last event of the week left.
    running = events[-1][1]
    previous, total = 0, 0
    for minute, turns_on in events:
        if running:
            total += minute - previous
        running, previous = turns_on, minute
    if running:
        total += MINUTES_PER_WEEK - previous
    return total


def monthly_hours(start: WeeklyCron, stop: WeeklyCron) -> float:
    return running_minutes_per_week(start, stop) / 60 * HOURS_PER_MONTH / (7 * 24)
