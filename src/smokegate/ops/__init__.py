"""Operations around a run: run history, alerts and incidents, the daily health report.

``history`` keeps every run in SQLite, ``alerts`` turns a finished run into an incident and the
webhook messages it deserves, ``health_report`` renders the daily health report from the history
(``report`` its figures, ``report_page`` its layout), and :mod:`smokegate.plugin.operations` wires
them to the suite through the ``pytest_smokegate_run_finished`` hook.
"""
