"""The command-line interface (astrepo.cli)."""
