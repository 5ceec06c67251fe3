"""What each CLI command does, as plain functions tests can call without the CLI: one module per
command. Each checks the user's raw option values first (a UsageError before any heavy import),
then runs the library, shows progress on `err` and the results on `out`, and returns the summary.
"""
