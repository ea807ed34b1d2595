"""The pytest plugin (entry point ``smokegate``): the one layer that knows pytest and the plugins it drives.

pytest, pytest-xdist, pytest-playwright, pytest-html, pytest-base-url, pytest-rerunfailures and Allure
are imported here and nowhere else in smokegate (``selftests/test_architecture.py`` holds it); below
this package everything is plain Python a test can call without pytest: the config, ``checks/``, the
probe, the reports, ``ops/``, the testbed.  This module only says where each hook lives; pytest
registers the modules in this order (which is also the order hooks of the same kind run in, last
registered first, unless a hook says ``tryfirst``/``trylast``).
"""

pytest_plugins: list[str] = [
    # The run: options, configure (preflight, the run's state), probe, guard, each check's record and
    # metadata, the verdict (gate.json, summary), terminal summary.  Registers the result collector
    # (results.py) and the HTML report's hooks (html_report.py) at configure.
    "smokegate.plugin.lifecycle",
    # xdist: the scheduler that keeps measured checks apart (pytest_xdist_make_scheduler).
    "smokegate.plugin.distribute",
    # Fixtures: the target, probe and run; the config's parameters (pytest_generate_tests).
    "smokegate.plugin.fixtures",
    "smokegate.plugin.params",
    # The security suite's fixtures and its TLS scan in the background (collection, setup, session end).
    "smokegate.plugin.security_fixtures",
    # pytest-playwright's fixtures as smokegate configures them (registers BrowserFixtures at configure).
    "smokegate.plugin.browser_fixtures",
    "smokegate.plugin.provider_fixtures",
    # A failed browser check's trace and screenshot (runtest_makereport).
    "smokegate.plugin.artifacts",
    "smokegate.plugin.load_fixtures",
    # Secrets out of every report section (runtest setup, call, makereport).
    "smokegate.plugin.scrub_hooks",
    # History, alerts and network reruns (configure; pytest_smokegate_run_finished).
    "smokegate.plugin.operations",
    # Failure kinds into Allure's results (pytest_smokegate_run_finished).
    "smokegate.plugin.allure_results",
    # The run's memory: collected objects frozen, fixtures a run skips left out (configure, collection).
    "smokegate.plugin.lean",
]
