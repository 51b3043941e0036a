"""backend: where Terraform keeps the sandbox's state (local, or S3 with an optional lock table)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, field_validator
from pydantic_core import PydanticCustomError

from . import aws_names
from .base import ConfigModel

LOCAL_PATH_MAX = 1024


class BackendConfig(ConfigModel):
    s3_bucket: str | None = Field(None, description="S3 bucket for state. Default: local state file.")
    s3_key: str | None = Field(None, description="State object key. Default: talos-sandbox/<name>.tfstate.")
    s3_region: str | None = Field(None, description="Region of the bucket. Default: the sandbox region.")
    dynamodb_table: str | None = Field(
        None, description="Lock with this DynamoDB table instead of S3's native lock file."
    )
    local_path: str = Field("terraform.tfstate", description="Local state path, relative to the stack folder.")

    _s3_bucket = field_validator("s3_bucket")(aws_names.s3_bucket)
    _s3_key = field_validator("s3_key")(aws_names.s3_key)
    _dynamodb_table = field_validator("dynamodb_table")(aws_names.dynamodb_table)

    @field_validator("s3_region")
    @classmethod
    def _s3_region(cls, value: str | None) -> str | None:
        return None if value is None else aws_names.region(value)

    @field_validator("local_path")
    @classmethod
    def _relative(cls, value: str) -> str:
        if not value or len(value) > LOCAL_PATH_MAX or aws_names.has_control_characters(value):
            raise aws_names.value_error("path", "'{value}' is not a file path: 1-1024 characters, no control characters", value)
        if Path(value).is_absolute():
            raise PydanticCustomError("path", "'{value}' must be relative to the stack folder", {"value": value})
        return value


