"""The one error type the CLI turns into a clean message and exit status 2."""


class SandboxError(Exception):
    """A problem the user can fix: bad config, missing file, unwritable output."""
