"""User-data as the launch template carries it: gzip-compressed, then base64.

cloud-init decompresses gzip user-data by itself, and EC2's 16 KiB user-data limit applies
to the compressed bytes; the bastion's boot script with the cluster unit's program is
larger than 16 KiB as text. mtime 0 keeps the output byte-identical between synths.
"""

from __future__ import annotations

import base64
import gzip

GZIP_MAGIC = b"\x1f\x8b"


def compressed_user_data(script: str) -> str:
    return base64.b64encode(gzip.compress(script.encode(), compresslevel=9, mtime=0)).decode()


def user_data_text(encoded: str) -> str:
    """The script in a launch template's or an instance's base64 user-data, compressed or not."""
    raw = base64.b64decode(encoded, validate=True)
    if raw.startswith(GZIP_MAGIC):
        raw = gzip.decompress(raw)
    return raw.decode("utf-8", "replace")
