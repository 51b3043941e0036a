"""talos-sandbox: a CDKTF generator for a Talos Linux sandbox on arm64 EC2."""
