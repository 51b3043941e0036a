"""Names and tags shared by the constructs, so every resource reads the same way."""

from dataclasses import dataclass


@dataclass(frozen=True)
class AccountRef:
    """The account and partition the stack deploys to (Terraform tokens at synth)."""

    account_id: str
    partition: str

    def arn(self, service: str, region: str, resource: str) -> str:
        return f"arn:{self.partition}:{service}:{region}:{self.account_id}:{resource}"


def name_tag(prefix: str, suffix: str) -> dict[str, str]:
    return {"Name": f"{prefix}-{suffix}"}
