"""One construct per file, each taking a frozen props structure (never files or the
environment). Imported by `terraform.stack`; they import bindings, documents and config.
"""
