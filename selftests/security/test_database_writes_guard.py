"""The production-safety guard keeps the database write probes off a target that forbids intrusive checks.

The same module runs twice against the testbed's Supabase project: as the ``production`` target
(``intrusive = false``) the write check is deselected and the project sees no PATCH or DELETE at all;
as ``local`` (``intrusive = true``) it sends them, each filtered on a value no row holds.
"""

from __future__ import annotations

from pathlib import Path

from smokegate.testbed.control import RunningTestbed

from ..conftest import cli_for, env_for, run_suite

MODULE = "tests/security/test_database_access.py"
WRITE_CHECK = "security/test_database_access.py::test_private_table_refuses_writes"


def _writes(testbed: RunningTestbed) -> list[dict[str, object]]:
    return [e for e in testbed.events() if e["kind"] == "supabase-write"]


def test_writes_never_reach_a_production_target(testbed: RunningTestbed, tmp_path: Path) -> None:
    testbed.set_faults([])
    cli = cli_for(testbed)
    cli[cli.index("--target") + 1] = "production"  # intrusive = false; the testbed's URL and CA stay
    run = run_suite([MODULE, *cli], tmp_path / "production", env=env_for(testbed))
    assert run.gate.get("verdict") == "pass", run.output[-3000:]
    assert [d["check"] for d in run.gate["deselected"]] == [f"{WRITE_CHECK}[profiles]"], run.gate["deselected"]
    assert "security/test_database_access.py::test_private_table_not_readable[profiles]" in run.outcomes
    assert _writes(testbed) == []


def test_writes_are_sent_on_staging_and_match_no_row(testbed: RunningTestbed, tmp_path: Path) -> None:
    testbed.set_faults([])
    run = run_suite([MODULE, *cli_for(testbed)], tmp_path / "local", env=env_for(testbed))
    assert run.outcomes[f"{WRITE_CHECK}[profiles]"] == "passed", run.output[-3000:]
    writes = _writes(testbed)
    assert sorted({(w["method"], w["table"]) for w in writes}) == [
        ("DELETE", "invoices"), ("DELETE", "profiles"), ("PATCH", "invoices"), ("PATCH", "profiles")]
    assert all(str(w["query"]).startswith("id=eq.") for w in writes)
