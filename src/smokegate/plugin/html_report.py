"""The gate report: pytest-html's ``report.html``, extended through its hooks into a page that opens
on its verdict.

pytest-html still writes the page (self-contained, its results table, filters and environment
table); this plugin adds, through the hooks pytest-html offers:

* ``pytest_html_results_summary``: the verdict banner and the decisive checks at the top, from the
  same gate the exit code and ``gate.json`` come from, with the styles that put the environment and
  plugin tables below the results;
* ``pytest_html_results_table_header/row``: severity (coloured, blocking marked), measured against
  budget, and the check's one-line message with its failure kind;
* ``pytest_html_results_table_html``: the check's own words, figures, failure kind and links to its
  evidence instead of the test's source and fixture reprs (a traceback only for an error inside
  the suite, which is a bug), skip reasons as sentences, the unreachable reason once;
* ``pytest_html_duration_format``: durations in milliseconds rather than rounded to whole seconds.

A run stopped by a usage error never reaches pytest-html: :func:`write_stopped_report` writes the
page for it, so no report of an earlier run is left claiming another verdict.
"""

from __future__ import annotations

import os
import urllib.parse
from dataclasses import asdict
from pathlib import Path
from typing import Any

import pytest
from markupsafe import Markup

from smokegate import gate_view as views
from smokegate.failures import FailureKind
from smokegate.gate import CheckResult, GateReport
from smokegate.plugin import foreign_options, pytest_options
from smokegate.plugin import run as runs
from smokegate.plugin.artifacts import ARTIFACT_PROPERTY, NOTE_PROPERTY
from smokegate.plugin.results import PROPERTY, report_message
from smokegate.severity import severity_rank
from smokegate.summary import measured_vs_budget
from smokegate.templating import render

ROW_MESSAGE = 200  # characters of a failure's message in its table row
ERRORS_LABEL = "Setup/teardown errors"


def register(config: pytest.Config) -> None:
    """Extend this run's pytest-html report (controller only; pytest-html is not active on workers)."""
    config.pluginmanager.register(GateHtml(config), "smokegate-html-report")


def report_path(config: pytest.Config) -> Path:
    """Where pytest-html writes the page (it resolves ``--html`` against the invocation directory)."""
    html = os.path.expandvars(str(foreign_options.html_path(config)))
    return Path(config.invocation_params.dir, Path(html).expanduser())


def _info(report: Any) -> dict[str, Any]:
    for name, value in getattr(report, "user_properties", []):
        if name == PROPERTY and isinstance(value, dict):
            return value
    return {}


def sentence(text: str) -> str:
    """A skip reason as a sentence: capital first letter, full stop at the end."""
    text = " ".join(text.split())
    if not text:
        return "No reason given."
    text = text[0].upper() + text[1:]
    return text if text.endswith((".", "!", "?", ")")) else text + "."


class GateHtml:
    """pytest-html hooks of one run; keeps each check's evidence and row as its reports arrive."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.html_dir = report_path(config).parent
        self.checks_of: dict[str, str] = {}  # node id -> check id
        self.evidence: dict[str, list[tuple[str, str]]] = {}  # check id -> [(kind, href)]
        self.notes: dict[str, str] = {}  # check id -> where borrowed evidence came from
        self.anchors: dict[str, str] = {}  # check id -> id of its row in the results table

    # -- what each check left behind ----------------------------------------------------------

    def _href(self, path: str) -> str:
        absolute = Path(self.config.invocation_params.dir, path)
        try:
            relative = os.path.relpath(absolute, self.html_dir)
        except ValueError:  # another drive (Windows): no relative link exists
            return absolute.as_uri()
        return urllib.parse.quote(Path(relative).as_posix())

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        check = _info(report).get("check")
        if not check:
            return
        self.checks_of[report.nodeid] = str(check)
        if str(report.outcome) != "rerun" and check not in self.anchors and (
            report.when == "call" or report.outcome != "passed"
        ):
            self.anchors[check] = report.nodeid if report.when == "call" else f"{report.nodeid}::{report.when}"
        for name, value in report.user_properties:
            if not isinstance(name, str):
                continue
            if name.startswith(ARTIFACT_PROPERTY):
                kept = self.evidence.setdefault(str(check), [])
                entry = (name.removeprefix(ARTIFACT_PROPERTY), self._href(str(value)))
                if entry not in kept:
                    kept.append(entry)
            elif name == NOTE_PROPERTY:
                self.notes[str(check)] = str(value)

    def _result(self, report: Any) -> CheckResult | None:
        run = runs.current(self.config)
        check = _info(report).get("check")
        if run is None or not check:
            return None
        return next((c for c in reversed(run.gate.checks) if c.check == check), None)

    # -- the page -------------------------------------------------------------------------------

    def pytest_html_report_title(self, report: Any) -> None:
        run = runs.current(self.config)
        if run is not None:
            report.title = f"smokegate gate report: {run.target.name}"
        # pytest-html's "Errors" filter counts checks whose setup or teardown raised: beside smokegate's
        # ERROR verdict (the run could not judge) it would read as another count of that.  Its label is
        # data of pytest-html's report (ReportData.outcomes, 4.x), read when the page is rendered.
        outcomes = getattr(report, "outcomes", None)
        if isinstance(outcomes, dict) and isinstance(outcomes.get("error"), dict):
            outcomes["error"]["label"] = ERRORS_LABEL

    def pytest_html_results_summary(self, prefix: list[str], summary: list[str], postfix: list[str],
                                    session: pytest.Session) -> None:
        run = runs.current(session.config)
        if run is None or pytest_options.listing(session.config):
            return  # a collect-only run tested nothing and has no verdict
        # The same settling the gate gets after pytest-html has written (interrupted, no checks).
        runs.settle(run.gate, session.exitstatus)
        view = views.gate_view(run.gate.as_dict(), evidence=self.evidence, anchors=self.anchors)
        prefix.insert(0, render("gate_summary.html.j2", view=view, demoted=_demoted(run.gate)))

    def pytest_html_results_table_header(self, cells: list[str]) -> None:
        cells.insert(2, '<th class="sortable" data-column-type="severity">Severity</th>')
        cells.insert(3, "<th>Measured / budget</th>")
        cells.insert(4, "<th>Message</th>")

    def pytest_html_results_table_row(self, report: Any, cells: list[str]) -> None:
        info = _info(report)
        result = self._result(report)
        severity = str(info.get("severity", ""))
        # The hidden rank makes pytest-html's string sort order severities by rank, not alphabet.
        rank = severity_rank(severity, strict=False)
        blocking = result is not None and result.blocking and report.failed
        figures = measured_vs_budget(result) if result is not None else ""
        kind = result.failure_kind if result is not None and report.failed else None
        # One rendering for the three cells (a row is made for each phase of every check).
        consequence_of = result.consequence_of if result is not None and report.failed else None
        cells[2:2] = _cells(severity=severity, rank=rank, blocking=blocking, figures=_one_line(figures),
                            text=_one_line(self._row_message(report, result)), kind=kind,
                            check=result.check if result is not None else "", consequence_of=consequence_of)
        if report.failed and result is not None and cells[-1].startswith('<td class="col-links">'):
            # pytest-playwright links its own trace here; add what it does not know about.
            extra = [link for link in views.evidence_links(self.evidence.get(result.check, ()))
                     if f'href="{link.href}"' not in cells[-1]]
            if extra:
                cells[-1] = cells[-1].removesuffix("</td>") + " ".join(_cells(links=extra)) + "</td>"

    def _row_message(self, report: Any, result: CheckResult | None) -> str:
        if report.skipped:
            return self._skip_sentence(report, result)
        if report.failed:
            return views.one_line(result.message if result is not None else report.longreprtext, ROW_MESSAGE)
        return ""

    def _skip_sentence(self, report: Any, result: CheckResult | None) -> str:
        own = result.message if result is not None and result.outcome == "skipped" else None
        reason = own or report_message(report)
        run = runs.current(self.config)
        if run is not None and run.gate.reason and " ".join(reason.split()) == " ".join(run.gate.reason.split()):
            # The run's own reason (the target cannot be tested, or is protected): said once, above.
            if run.gate.unreachable:
                return "Not run: the target cannot be tested (the reason is in the verdict above)."
            return "Not run: the run could not test the target (the reason is in the verdict above)."
        return sentence(reason)

    def pytest_html_results_table_html(self, report: Any, data: list[str]) -> None:
        result = self._result(report)
        if result is None:
            return
        if report.skipped:
            data[:] = []  # the sentence is in the row itself; no empty box under it
            return
        if not report.failed:
            return
        check = result.check
        line = views.check_line(asdict(result), self.evidence.get(check, ()), self.anchors.get(check))
        message = result.message or views.one_line(report.longreprtext)
        traces = [href for kind, href in self.evidence.get(check, ()) if kind == "trace"]
        suite_error = result.failure_kind == FailureKind.SUITE_ERROR
        data[:] = [render(
            "check_detail.html.j2",
            line=line,
            sentence="",
            # The row shows the message on one line; repeat it here only when that line cut it short.
            full_message=message if views.one_line(message, ROW_MESSAGE) != message else None,
            trace_command=f"playwright show-trace {urllib.parse.unquote(traces[0])}" if traces else None,
            borrowed=self.notes.get(check),
            traceback=report.longreprtext if suite_error else None,
        )]

    def pytest_html_duration_format(self, duration: float) -> str:
        # pytest-html's own format rounds to whole seconds past one second ("00:00:01"); its sort
        # reads "<n> ms" and "HH:MM:SS", so stay in milliseconds below a minute.
        if duration < 60:
            return f"{duration * 1000:.0f} ms"
        minutes, seconds = divmod(round(duration), 60)
        return f"{minutes // 60:02d}:{minutes % 60:02d}:{seconds:02d}"


def _demoted(gate: GateReport) -> Markup:
    """CSS hiding the "blocking" tag of rows made before a more severe check of the same cause failed
    and became the finding (rows are made as checks finish; the banner is made at the end)."""
    def css_string(text: str) -> str:
        return '"' + "".join(c if c.isalnum() or c in "/_.:-[]" else f"\\{ord(c):x} " for c in text) + '"'

    rules = [f".sg-tag.blocking[data-check={css_string(c.check)}]{{display:none}}" for c in gate.checks
             if c.consequence_of]
    # Safe as markup: every character outside [A-Za-z0-9/_.:[]-] is written as a CSS escape.
    return Markup("\n".join(rules))


def _one_line(text: str) -> str:
    return " ".join(text.splitlines())


def _cells(**context: Any) -> list[str]:
    """smokegate's cells of a row, each on one line: pytest-html reads sortable cells with a one-line
    regular expression."""
    return [line.strip() for line in render("_row_cells.html.j2", **context).split("\n") if line.strip()]


def write_stopped_report(path: Path, gate: GateReport) -> Path:
    """``report.html`` for a run stopped before pytest-html started (a usage error): the error verdict
    and its reason, replacing whatever page an earlier run left there."""
    view = views.gate_view(gate.as_dict())
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(render("gate_stopped.html.j2", view=view), encoding="utf-8")
    os.replace(temporary, path)
    return path
