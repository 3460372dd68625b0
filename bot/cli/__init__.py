"""The `deskbot` command line."""
