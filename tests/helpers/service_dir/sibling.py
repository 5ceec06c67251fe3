"""Importable only when the script's own folder is on sys.path, as python puts it."""

GREETING = "sibling imported"
