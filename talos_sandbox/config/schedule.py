"""schedule: when the bastion and the nodes start and stop (weekly crons)."""

from __future__ import annotations

from pydantic import Field, field_validator
from pydantic_core import PydanticCustomError

from .base import ConfigModel
from .cron import CronError, WeeklyCron



class ScheduleConfig(ConfigModel):
    start: str = Field(description="Weekly cron (5 fields, one time of day), e.g. `0 8 * * MON-FRI`.")
    stop: str = Field(description="Weekly cron for the stop, e.g. `0 13 * * MON-FRI`.")
    timezone: str = Field("UTC", description="IANA time zone of both crons.")
    stagger_minutes: int = Field(
        10, ge=1, le=120, description="Nodes start this long after the bastion and stop this long before it."
    )
    nodes: bool = Field(True, description="Stop and start the nodes too (false: only the bastion).")

    @field_validator("start", "stop")
    @classmethod
    def _cron(cls, value: str) -> str:
        try:
            WeeklyCron.parse(value)
        except CronError as exc:
            raise PydanticCustomError("cron", "{problem}", {"problem": str(exc), "value": value}) from None
        return value

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise PydanticCustomError("timezone", "'{value}' is not an IANA time zone", {"value": value}) from None
        return value

    @property
    def bastion_start(self) -> WeeklyCron:
        return WeeklyCron.parse(self.start)

    @property
    def bastion_stop(self) -> WeeklyCron:
        return WeeklyCron.parse(self.stop)

    @property
    def nodes_start(self) -> WeeklyCron:
        return self.bastion_start.shifted(self.stagger_minutes)

    @property
    def nodes_stop(self) -> WeeklyCron:
        return self.bastion_stop.shifted(-self.stagger_minutes)


