"""Bad input to the ``smokegate`` command and the testbed, the way a new user writes it (issue 24).

Each case: one line naming the option and the value, exit code 2 (the command line's usage error),
no traceback, and nothing of the user's renamed or changed.  The pytest suite's own bad input is in
``test_bad_input.py``.
"""

from __future__ import annotations

import os
import socket
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from smokegate.cli import main as cli_main
from smokegate.ops.history import History

ROOT = Path(__file__).resolve().parent.parent
NOT_A_HISTORY = b"-----BEGIN CERTIFICATE-----\nMIIB...not a history\n-----END CERTIFICATE-----\n"


Cli = Callable[..., tuple[int, str, str]]


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Cli:
    """``smokegate ARGS`` in this process, from the checkout, without the developer's SMOKEGATE_ variables."""
    monkeypatch.chdir(ROOT)
    for name in [n for n in os.environ if n.startswith("SMOKEGATE_")]:
        monkeypatch.delenv(name)

    def run(*argv: str) -> tuple[int, str, str]:
        code = cli_main(list(argv))
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return run


def _one_line(err: str) -> str:
    assert "Traceback" not in err
    (line,) = err.strip().splitlines()
    return line


def _files(root: Path) -> dict[str, bytes | None]:
    return {str(p.relative_to(root)): None if p.is_dir() else p.read_bytes() for p in sorted(root.rglob("*"))}


# -- --history: the same rules as the pytest option ------------------------------------------------------


@pytest.mark.parametrize("command", [("watch", "--target", "local"), ("report",)])
def test_an_empty_history_is_an_error_not_the_default(cli: Cli, command: tuple[str, ...]) -> None:
    code, _, err = cli(*command, "--history", "")
    assert code == 2
    assert _one_line(err) == "smokegate: --history: empty value"


@pytest.mark.parametrize("command", [("watch", "--target", "local"), ("report",)])
def test_an_empty_history_variable_is_an_error(
    cli: Cli, command: tuple[str, ...], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SMOKEGATE_HISTORY", "")
    code, _, err = cli(*command)
    assert code == 2
    assert _one_line(err) == "smokegate: env SMOKEGATE_HISTORY: empty value"


WATCH_LOCAL, EMPTY = ("watch", "--target", "local"), "empty value (leave it out, or give"


@pytest.mark.parametrize(("command", "variable", "where"), [
    (("watch",), "SMOKEGATE_TARGET", f"env SMOKEGATE_TARGET: {EMPTY} NAME)"),
    (WATCH_LOCAL, "SMOKEGATE_CONFIG", f"env SMOKEGATE_CONFIG: {EMPTY} FILE)"),
    (WATCH_LOCAL, "SMOKEGATE_LOCATION", f"env SMOKEGATE_LOCATION: {EMPTY} NAME)"),
    (("rollback",), "SMOKEGATE_TARGET", f"env SMOKEGATE_TARGET: {EMPTY} NAME)"),
    (("rollback", "--target", "local"), "SMOKEGATE_CONFIG", f"env SMOKEGATE_CONFIG: {EMPTY} FILE)"),
    (("badge",), "SMOKEGATE_HISTORY", "env SMOKEGATE_HISTORY: empty value"),
])
def test_the_commands_read_smokegate_variables_through_the_options_table(
    cli: Cli, command: tuple[str, ...], variable: str, where: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The pytest options' rule and message (smokegate.options): an empty variable is an error naming it.
    monkeypatch.setenv(variable, " ")
    code, _, err = cli(*command)
    assert code == 2
    assert where in _one_line(err)


def test_the_command_line_wins_over_the_variable_and_says_so(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SMOKEGATE_TARGET", "nosuch-from-env")
    code, _, err = cli("watch", "--target", "local", "--location", "")
    assert code == 2
    assert _one_line(err) == "smokegate: --location: empty value (leave it out, or give NAME)"


@pytest.mark.parametrize("command", [("watch", "--target", "local"), ("report",)])
def test_a_file_that_is_not_a_history_is_refused_and_left_alone(
    cli: Cli, command: tuple[str, ...], tmp_path: Path
) -> None:
    path = tmp_path / "notpem.pem"
    path.write_bytes(NOT_A_HISTORY)
    before = _files(tmp_path)
    code, out, err = cli(*command, "--history", str(path))
    assert code == 2 and out == ""
    assert _one_line(err) == (f"smokegate: --history: {path} is not a smokegate run history (not an SQLite database);"
                              " it was left as it is: name another file, or move it away yourself")
    assert _files(tmp_path) == before


def test_another_programs_database_and_a_directory_are_refused(cli: Cli, tmp_path: Path) -> None:
    database = tmp_path / "app.db"
    with sqlite3.connect(database) as db:
        db.execute("CREATE TABLE users (id INTEGER PRIMARY KEY)")
    db.close()
    before = _files(tmp_path)
    code, _, err = cli("watch", "--target", "local", "--history", str(database))
    assert code == 2 and "is an SQLite database but not a smokegate run history (its tables: users)" in _one_line(err)
    code, _, err = cli("report", "--history", str(tmp_path))
    assert code == 2 and _one_line(err).startswith(f"smokegate: --history: {tmp_path} is a directory")
    assert _files(tmp_path) == before


def test_the_report_leaves_a_damaged_history_where_it_is(cli: Cli, tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite"
    with History.open(path) as history:
        for index in range(50):
            history.record_gate(_gate(datetime.now(UTC) - timedelta(minutes=index)), run_id=f"r{index}",
                                scheduled=True)
    data = bytearray(path.read_bytes())
    data[4096 : len(data) - 4096] = b"\xa5" * (len(data) - 8192)
    path.write_bytes(bytes(data))
    code, out, err = cli("report", "--history", str(path), "--out", str(tmp_path / "out.html"))
    assert code == 1 and out == ""
    assert "is damaged" in _one_line(err) and "it was left as it is" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["history.sqlite"]
    assert path.read_bytes() == bytes(data)


# -- watch: the metrics options ------------------------------------------------------------------------


def test_a_metrics_port_in_use_names_the_option_and_the_port(cli: Cli, tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code, _, err = cli("watch", "--target", "local", "--history", str(tmp_path / "h.sqlite"), "--reports-dir",
                           str(tmp_path / "watch"), "--metrics-port", str(port), "--metrics-address", "127.0.0.1")
    assert code == 2
    assert _one_line(err) == (f"smokegate: watch: --metrics-port {port}: already in use on 127.0.0.1 (another process "
                              "listens there; pick another port)")


@pytest.mark.parametrize(("address", "says"), [
    ("192.0.2.1", "not an address of this machine"),  # TEST-NET-1: no interface of ours has it
    # A name the resolver refuses without asking anyone (a label longer than DNS allows), as bogus.invalid
    # is refused by a DNS server: the self-tests never send a lookup past loopback.
    ("x" * 64 + ".invalid", "not an address to serve metrics on"),
])
def test_a_metrics_address_that_cannot_serve_names_the_option(
    cli: Cli, tmp_path: Path, address: str, says: str
) -> None:
    code, out, err = cli("watch", "--target", "local", "--history", str(tmp_path / "h.sqlite"), "--reports-dir",
                         str(tmp_path / "watch"), "--metrics-port", "0", "--metrics-address", address)
    assert code == 2
    line = _one_line(err)
    assert line.startswith(f"smokegate: watch: --metrics-address {address!r}: {says}"), line
    assert "runner" not in out  # stopped before any run could start


# -- report: the period ---------------------------------------------------------------------------------


def _gate(at: datetime) -> dict[str, object]:
    return {"verdict": "pass", "target": {"name": "local", "base_url": "https://localhost:8443"},
            "started_at": at.isoformat(), "finished_at": at.isoformat(), "counts": {"passed": 1},
            "checks": [{"check": "smoke/test_health.py::test_health_answers_200", "outcome": "passed",
                        "measured": 12.0, "budget": 500.0, "unit": "ms"}]}


@pytest.fixture
def young_history(tmp_path: Path) -> Path:
    """Three runs over the last hour: a history started today."""
    path = tmp_path / "history.sqlite"
    now = datetime.now(UTC)
    with History.open(path) as history:
        for minutes in (50, 30, 10):
            history.record_gate(_gate(now - timedelta(minutes=minutes)), run_id=f"r{minutes}", scheduled=True)
    return path


def _title(page: Path) -> str:
    text = page.read_text()
    return text[text.index("<h1>") + 4 : text.index("</h1>")]


@pytest.mark.parametrize(("since", "title"), [
    ("1h", "Health report, last 1 hour"),
    ("90m", "Health report, last 90 minutes"),
    ("24h", "Daily health report"),
    ("1d", "Daily health report"),
    ("2d", "Health report, last 2 days"),
])
def test_a_report_is_titled_for_the_period_it_covers(
    cli: Cli, young_history: Path, tmp_path: Path, since: str, title: str
) -> None:
    out = tmp_path / "report.html"
    code, printed, _ = cli("report", "--since", since, "--history", str(young_history), "--out", str(out))
    assert code == 0 and printed.strip() == str(out)
    assert _title(out) == title


def test_a_period_longer_than_the_history_covers_the_whole_history(
    cli: Cli, young_history: Path, tmp_path: Path
) -> None:
    out = tmp_path / "report.html"
    code, _, _ = cli("report", "--since", "99999d", "--history", str(young_history), "--out", str(out))
    assert code == 0
    assert out.stat().st_size < 200_000, f"{out.stat().st_size} bytes"  # was 24.7 MB of empty bars from 1753
    assert _title(out) == "Health report, last 2 days: the whole history"
    assert "(asked for the last 99999 days; the history begins there)" in out.read_text()
    # The weekly review of a history younger than a week is the same whole history, and says so.
    code, _, _ = cli("report", "--since", "7d", "--history", str(young_history), "--out", str(out))
    assert _title(out) == "Health report, last 2 days: the whole history"


def test_a_period_beyond_any_history_is_a_usage_error(cli: Cli) -> None:
    with pytest.raises(SystemExit) as stopped:
        cli("report", "--since", "99999999999d")
    assert stopped.value.code == 2


def test_report_help_describes_the_command_and_its_defaults(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stopped:
        cli_main(["report", "--help"])
    assert stopped.value.code == 0
    text = " ".join(capsys.readouterr().out.split())
    assert "Render the health report" in text
    assert "(default 24h)" in text
    assert "default reports/history.sqlite" in text


# -- the testbed -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(("args", "says"), [
    (["--https-port", "70000"], "argument --https-port: 70000 is not a port (0 to 65535; 0 picks a free one)"),
    (["--http-port", "-1"], "argument --http-port: -1 is not a port"),
    (["--admin-port", "eighty"], "argument --admin-port: not a port number: 'eighty'"),
    (["--state-dir", "/etc/hostname"], "--state-dir /etc/hostname: cannot use it as the testbed's directory"),
])
def test_the_testbed_refuses_bad_options_with_a_usage_message(args: list[str], says: str) -> None:
    done = subprocess.run([sys.executable, "-m", "smokegate.testbed", *args], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert says in done.stderr.splitlines()[-1], done.stderr
