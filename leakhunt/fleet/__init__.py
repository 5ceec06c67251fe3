"""`leakhunt fleet`: the same verdicts over Prometheus series (HTTP, analysis, rules)."""
