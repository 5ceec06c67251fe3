"""soak.py: a child that ends before it says it is ready did not start, and the run records so
with the child's own error and the path of its log."""

import json


def test_a_child_that_never_started_is_recorded_as_such_with_its_error(unstartable_run):
    meta = json.loads((unstartable_run / "meta.json").read_text())
    assert meta["exit_reason"] == "target_exited"
    detail = meta["exit_detail"]
    assert detail["started"] is False and detail["returncode"] == 1
    assert "ImportError: this pandas is broken on purpose" in detail["text"]
    assert detail["text"].endswith(f"its output: {unstartable_run / 'target.log'}")
