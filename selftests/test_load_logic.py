"""The load check's logic without Locust or a server: the shape, the timeline, each threshold and where it broke,
and when the generator (or the path) makes a figure prove nothing about the target."""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

import pytest

from smokegate.checks import load_timeline as load
from smokegate.checks import load_verdict as verdict
from smokegate.checks.load_timeline import GeneratorSample, RouteTick, Step, Timeline
from smokegate.checks.load_verdict import Analysis
from smokegate.config import ConfigError, load_config, resolve_target
from smokegate.load import engine, session
from smokegate.load.engine import Distribution
from smokegate.load.plan import MIN_SAMPLES, Plan, Session, plan_for, routes_of

ROOT = Path(__file__).resolve().parent.parent
STEPS = load.schedule(baseline_rps=10, multiplier=10, ramp_s=30, steps=3, hold_s=20, ramp_down_s=5, user_rps=1)


def test_the_shape_ramps_from_1x_to_the_peak_holds_and_comes_back() -> None:
    assert [(s.phase, s.multiple, s.rps, s.users) for s in STEPS] == [
        ("ramp", 1.0, 10.0, 10), ("ramp", 4.0, 40.0, 40), ("ramp", 7.0, 70.0, 70), ("hold", 10.0, 100.0, 100),
        ("down", 1.0, 10.0, 10)]
    assert [(s.start_s, s.end_s) for s in STEPS] == [(0, 10), (10, 20), (20, 30), (30, 50), (50, 55)]
    nine = load.schedule(baseline_rps=20, multiplier=10, ramp_s=90, steps=9, hold_s=60, ramp_down_s=0, user_rps=2)
    assert [s.multiple for s in nine] == [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]
    assert nine[-1].users == 100 and nine[-1].phase == "hold"
    assert load.step_at(STEPS, 29.9) == STEPS[2] and load.step_at(STEPS, 55) is None


def test_response_times_are_bucketed_and_percentiled_as_locust_reports_them() -> None:
    assert [load.bucket(v) for v in (12.4, 99.6, 147, 999, 3432, 58760)] == [12, 100, 150, 1000, 3400, 59000]
    # Locust's p95 of 20 answers is the slowest: int(20 * 0.95) = 19 answers may lie below it.
    twenty = Counter({10: 19, 900: 1})
    assert load.percentile(twenty, 95) == 900
    # ... and of 100, the 96th: with five slow answers the p95 is slow.
    assert load.percentile(Counter({10: 95, 500: 5}), 95) == 500
    assert load.percentile(Counter({10: 96, 500: 4}), 95) == 10
    assert load.percentile(Counter(), 95) is None


def _fill(timeline: Timeline, seconds: range, route: str, per_second: int, ms: int,
          errors: dict[str, int] | None = None, process: str = "worker 0") -> None:
    for t in seconds:
        timeline.add(t, route, RouteTick(per_second, Counter(errors or {}), Counter({ms: per_second})), process)


def _analysis(timeline: Timeline, steps: list[Step] | None = None) -> Analysis:
    return Analysis.of(timeline, steps or STEPS, settle_s=1.0, max_cpu=90, max_lag_ms=100, error_budget=0.01,
                       labels={"api": "GET /api/plans (api-plans)", "page": "GET / (page-landing)"})


def _degrading() -> Timeline:
    """An API over budget from the 4x step on; a page that keeps its budget."""
    timeline = Timeline()
    for step, ms in zip(STEPS, (80, 320, 560, 800, 80), strict=True):
        _fill(timeline, range(int(step.start_s), int(step.end_s)), "api", int(step.rps // 4), ms)
        _fill(timeline, range(int(step.start_s), int(step.end_s)), "page", int(step.rps // 4), 300)
    return timeline


def test_a_route_over_budget_names_the_step_where_it_broke_for_good() -> None:
    analysis = _analysis(_degrading())
    over = verdict.judge_p95(analysis, "api", 500, MIN_SAMPLES)
    assert not over.passed and over.undetermined is None and over.measured == 800
    assert "p95 800 ms" in over.message and "> budget 500 ms at 10x (100 rps, 100 users)" in over.message
    assert "it broke at step 7x (70 rps, 70 users): p95 560 ms of 153 requests there" in over.message
    assert over.details["broke_at"]["multiple"] == 7.0
    held = verdict.judge_p95(analysis, "page", 2000, MIN_SAMPLES)
    assert held.passed and held.undetermined is None and "<= budget 2000 ms" in held.message


def test_a_threshold_that_fails_only_at_the_peak_names_the_step_that_held() -> None:
    timeline = Timeline()
    for step, ms in zip(STEPS, (80, 200, 400, 800, 80), strict=True):
        _fill(timeline, range(int(step.start_s), int(step.end_s)), "api", int(step.rps // 4), ms)
    over = verdict.judge_p95(_analysis(timeline), "api", 500, MIN_SAMPLES)
    assert ("it broke only at the peak: the last step judged, 7x (70 rps, 70 users), held with p95 400 ms of 153 "
            "requests") in over.message


def test_where_it_broke_is_where_it_failed_and_never_recovered() -> None:
    failed = {0: True, 1: False, 2: True, 3: True}
    assert verdict.broke_at(STEPS, lambda s: failed.get(s.index)) == STEPS[2]
    # A step with too few answers to say neither breaks nor mends the run of failures.
    assert verdict.broke_at(STEPS, lambda s: {0: False, 1: True, 2: None, 3: True}.get(s.index)) == STEPS[1]
    assert verdict.broke_at(STEPS, lambda s: s.index != 3) is None  # the hold held


def test_error_ratio_names_the_worst_route_at_the_first_step_it_broke() -> None:
    timeline = Timeline()
    for step in STEPS:
        span = range(int(step.start_s), int(step.end_s))
        bad = step.multiple >= 4
        _fill(timeline, span, "api", 10, 40, {"5xx": 5} if bad else None)
        _fill(timeline, span, "page", 10, 40, {"5xx": 1} if bad else None)
    timeline.messages = {"api": Counter({"HTTP 503": 100})}
    judged = verdict.judge_errors(_analysis(timeline), 0.01)
    assert not judged.passed and judged.undetermined is None and judged.measured == pytest.approx(30.0)
    assert "it broke at step 4x (40 rps, 40 users) on GET /api/plans (api-plans): 50.0% of" in judged.message
    assert "HTTP 503 x100" in judged.message


def test_refusals_of_a_lapsed_synthetic_session_are_not_the_target_s_errors() -> None:
    timeline = Timeline()
    _fill(timeline, range(0, 55), "api", 20, 40)
    _fill(timeline, range(0, 55), "signed-in", 5, 40, {"status": 5})  # 401: the session token expired
    analysis = _analysis(timeline)
    assert not verdict.judge_errors(analysis, 0.01).passed
    judged = verdict.judge_errors(analysis, 0.01, {"signed-in": "the session could not be refreshed"})
    assert judged.passed and "95 refused requests of the synthetic user's routes not counted" in judged.message


def test_a_short_5xx_burst_fails_even_when_the_hold_s_error_ratio_passes() -> None:
    steps = load.schedule(baseline_rps=10, multiplier=10, ramp_s=10, steps=1, hold_s=300, ramp_down_s=0, user_rps=1)
    timeline = Timeline()
    _fill(timeline, range(0, 310), "api", 100, 20)
    _fill(timeline, range(200, 203), "api", 40, 20, {"5xx": 40})  # three seconds of 503s
    analysis = _analysis(timeline, steps)
    assert verdict.judge_errors(analysis, 0.01).passed
    burst = verdict.judge_burst(analysis, 0.05, 5)
    assert not burst.passed and "120 of 620 answers (19.4%) were 5xx in the 5 s from 198 s" in burst.message
    assert "GET /api/plans (api-plans) 120" in burst.message
    assert verdict.judge_burst(_analysis(_degrading()), 0.05, 5).passed


def test_too_few_answers_for_a_p95_or_a_burst_is_undetermined() -> None:
    timeline = Timeline()
    _fill(timeline, range(31, 40), "api", 1, 40)
    judged = verdict.judge_p95(_analysis(timeline), "api", 500, MIN_SAMPLES)
    assert judged.undetermined and "only 9 requests in the hold" in judged.undetermined
    assert verdict.judge_burst(_analysis(timeline), 0.05, 5).undetermined


def _lagging(timeline: Timeline, lag_ms: float, cpu: float = 20.0, seconds: range = range(0, 55)) -> Timeline:
    timeline.generator = [GeneratorSample(t, "worker 0", cpu, lag_ms if t in seconds else 5.0) for t in range(0, 55)]
    return timeline


def test_seconds_in_which_the_generator_stalled_are_left_out_of_the_times_judged() -> None:
    timeline = Timeline()
    _fill(timeline, range(0, 55), "api", 25, 900)
    _fill(timeline, range(40, 41), "api", 25, 3000)  # one second the generator stalled in: its own wait
    stalled = _analysis(_lagging(timeline, 700, seconds=range(40, 41)))
    # Second 39's requests (900 ms) may still have been waiting in 40: left out with it.
    assert stalled.generator.stalled == {("worker 0", 39), ("worker 0", 40)} and stalled.generator.saturated is None
    judged = verdict.judge_p95(stalled, "api", 500, MIN_SAMPLES)
    assert not judged.passed and judged.undetermined is None and judged.measured == 900
    assert "15% of them, sent while their generator process stalled, left out of the times" in judged.message


def test_a_stall_after_the_hold_taints_the_requests_it_held_up() -> None:
    """Seen in make test: a Locust worker's loop stalled 3.2 s right after the hold (its samples at the three
    seconds after it), and the AI requests it had sent in the hold's last two seconds came back at 3.6 and
    4.6 s: a p95 over budget on a route the fault does not touch, though no second of the hold had stalled."""
    timeline = Timeline()
    _fill(timeline, range(0, 55), "api", 20, 200, process="worker 0")
    _fill(timeline, range(0, 48), "api", 20, 200, process="worker 1")
    _fill(timeline, range(48, 50), "api", 20, 3600, process="worker 1")  # answered during the stall
    timeline.generator = [GeneratorSample(t, p, 20.0, 3211.0 if (p, t) in {("worker 1", u) for u in (50, 51, 52)}
                                          else 5.0) for t in range(0, 55) for p in ("worker 0", "worker 1")]
    analysis = _analysis(timeline)
    assert analysis.generator.stalled == {("worker 1", 48), ("worker 1", 49)}
    judged = verdict.judge_p95(analysis, "api", 3000, MIN_SAMPLES)
    assert judged.passed and judged.measured == 200 and judged.undetermined is None, judged
    assert "5% of them, sent while their generator process stalled, left out of the times" in judged.message
    # A stall long after the last request of the hold was answered holds up nothing of it.
    later = Timeline(**vars(timeline))
    later.generator = [GeneratorSample(t, p, 20.0, 3211.0 if (p, t) == ("worker 1", 54) else 5.0)
                       for t in range(0, 55) for p in ("worker 0", "worker 1")]
    assert _analysis(later).generator.stalled == frozenset()


def test_a_stalled_process_taints_its_own_requests_only() -> None:
    timeline = Timeline()
    _fill(timeline, range(0, 55), "api", 30, 300, process="worker 0")
    _fill(timeline, range(0, 55), "api", 10, 300, process="worker 1")
    _fill(timeline, range(0, 55), "api", 5, 2000, process="worker 1")  # worker 1 stalled all along
    timeline.generator = [GeneratorSample(t, p, 10.0, 400.0 if p == "worker 1" else 5.0)
                          for t in range(0, 55) for p in ("worker 0", "worker 1")]
    analysis = _analysis(timeline)
    assert analysis.generator.saturated is None and analysis.generator.stalled_share == pytest.approx(15 / 45)
    assert verdict.judge_p95(analysis, "api", 500, MIN_SAMPLES).passed  # worker 0's own answers: 300 ms


def test_a_time_over_budget_by_less_than_the_generator_s_own_lag_is_not_blamed_on_the_target() -> None:
    timeline = Timeline()
    _fill(timeline, range(0, 55), "api", 25, 560)
    judged = verdict.judge_p95(_analysis(_lagging(timeline, 80)), "api", 500, MIN_SAMPLES)
    assert not judged.passed and judged.undetermined is not None
    assert "560 ms is over the 500 ms budget by no more than its lag of up to 80 ms" in judged.undetermined
    timeline = Timeline()
    _fill(timeline, range(0, 55), "api", 25, 900)
    assert verdict.judge_p95(_analysis(_lagging(timeline, 80)), "api", 500, MIN_SAMPLES).undetermined is None


def test_a_saturated_generator_makes_a_time_over_budget_undetermined() -> None:
    timeline = Timeline()
    _fill(timeline, range(0, 55), "api", 25, 900)
    judged = verdict.judge_p95(_analysis(_lagging(timeline, 300)), "api", 500, MIN_SAMPLES)
    assert not judged.passed and judged.undetermined is not None
    assert judged.undetermined.startswith("the load generator saturated: 100% of the hold's requests were sent by a "
                                          "process that stalled (worker 0's event loop up to 300 ms late")


def test_a_pass_at_less_than_the_planned_peak_from_a_saturated_generator_is_undetermined() -> None:
    timeline = Timeline()
    _fill(timeline, range(0, 55), "api", 50, 40)  # 50 rps sent where 100 were planned
    saturated = _lagging(timeline, 10, cpu=99)
    judged = verdict.judge_p95(_analysis(saturated), "api", 500, MIN_SAMPLES)
    assert judged.passed and judged.undetermined is not None
    assert "worker 0 at 99 % CPU" in judged.undetermined and "it sent 50 rps of the 100 planned" in judged.undetermined
    # A generator that kept up: the pass stands, whatever rate it was.
    kept_up = _analysis(_lagging(Timeline(**vars(timeline)), 10))
    assert verdict.judge_p95(kept_up, "api", 500, MIN_SAMPLES).undetermined is None
    # Users wait for each answer: a target answering in 2 s gets 50 requests a second from 100 users, its shortfall.
    slow = Timeline()
    _fill(slow, range(0, 55), "api", 50, 2000)
    judged = verdict.judge_p95(_analysis(_lagging(slow, 10, cpu=99)), "api", 3000, MIN_SAMPLES)
    assert judged.passed and judged.undetermined is None


def test_answers_are_the_target_s_own_but_requests_without_one_may_be_the_generator_s() -> None:
    server = Timeline()
    _fill(server, range(0, 55), "api", 100, 40, {"5xx": 10})
    assert verdict.judge_errors(_analysis(_lagging(server, 10, cpu=99)), 0.01).undetermined is None
    silent = Timeline()
    _fill(silent, range(20, 55), "api", 100, 40, {"timeout": 10})
    _fill(silent, range(0, 20), "api", 100, 40)
    judged = verdict.judge_errors(_analysis(_lagging(silent, 10, cpu=99)), 0.01)
    assert not judged.passed and judged.undetermined and "got no answer" in judged.undetermined


def test_requests_lost_before_any_load_are_the_network_not_the_load() -> None:
    timeline = Timeline()
    _fill(timeline, range(0, 55), "api", 10, 40, {"connection": 2})
    analysis = _analysis(timeline)
    assert analysis.lost and "before any load" in analysis.lost
    assert verdict.judge_p95(analysis, "api", 500, MIN_SAMPLES).undetermined == analysis.lost


def test_a_step_is_judged_on_its_whole_seconds_after_settling() -> None:
    assert load.seconds_of(9.18, 15.5, 1.0) == (11, 15)
    assert load.seconds_of(1.001, 3.016, 1.0) == (2, 3)  # 10 ms late does not cost a whole second
    assert load.seconds_of(1.2, 4.0, 1.0) == (3, 4)


def test_the_timeline_survives_its_trip_through_json() -> None:
    timeline = _lagging(_degrading(), 12)
    timeline.messages = {"api": Counter({"HTTP 503": 3})}
    again = Timeline.from_dict(timeline.as_dict())
    assert again.as_dict() == timeline.as_dict()
    assert load.window(again, 30, 50, "api").p(95) == 800


# -- config, plan, engine -----------------------------------------------------------------------------


def _config(tmp_path: Path, load_toml: str) -> Path:
    path = tmp_path / "smokegate.toml"
    path.write_text(f"""
[[defaults.pages]]
name = "landing"
path = "/"
text = "Welcome"
[[defaults.api]]
name = "plans"
path = "/api/plans"
[targets.stage]
base_url = "https://stage.example"
intrusive = true
{load_toml}
""")
    return path


@pytest.mark.parametrize(("toml", "message"), [
    ("[targets.stage.load.weights.routes]\npage-pricng = 2",
     "targets.stage.load: weights.routes: no route named page-pricng (routes: ai, api-plans, health, page-landing, "
     "signed-in-api)"),
    ("[targets.stage.load]\nhold_s = 3",
     "targets.stage.load: route ai would get about 18 requests in the hold (9.1% of 100 rps for the 2 s measured), "
     "fewer than the 40"),
    ("[targets.stage.load]\nramp_s = 3\nsteps = 3",
     "targets.stage.load: each ramp step lasts ramp_s / steps = 1 s, not more than settle_s"),
    ("[targets.stage.load]\nbaseline_rps = 0", "targets.stage.load.baseline_rps: Input should be greater than 0"),
    ("[targets.stage.load]\nmultipler = 10", "targets.stage.load.multipler: unknown key"),
    ("[targets.stage.load.weights]\npage = -1",
     "targets.stage.load.weights.page: Input should be greater than or equal"),
])
def test_a_bad_load_section_is_one_message_naming_file_and_key(tmp_path: Path, toml: str, message: str) -> None:
    path = _config(tmp_path, toml)
    with pytest.raises(ConfigError) as raised:
        load_config(path)
    assert f"{path}: {message}" in str(raised.value)


def test_the_plan_is_the_target_s_routes_with_their_budgets_and_weights() -> None:
    target = resolve_target(load_config(ROOT / "smokegate.toml"), "local")
    routes = {r.id: r for r in routes_of(target)}
    assert list(routes) == ["page-landing", "page-pricing", "page-sign-in", "api-plans", "api-status",
                            "api-user-signed-out", "health", "signed-in-api", "ai"]
    assert routes["page-pricing"].budget_ms == 2000 and routes["page-pricing"].text == "Executive plan"
    assert routes["api-user-signed-out"].expect_status == 401 and not routes["api-user-signed-out"].signed_in
    assert routes["ai"].budget_ms == 3000 and routes["ai"].method == "POST" and routes["ai"].signed_in
    assert routes["health"].budget_ms == 500 and routes["signed-in-api"].path == "/api/user"
    signed_out = plan_for(target, session=None, ca_pem=None, headers={})
    assert {r.id for r in signed_out.mix} == set(routes) - {"signed-in-api", "ai"}
    signed_in = plan_for(target, session=Session("https://x/__clerk", "sess_1", "client", "jwt"), ca_pem="PEM",
                         headers={"x-vercel-protection-bypass": "s"})
    assert Plan.from_json(signed_in.to_json()) == signed_in
    assert signed_in.duration_s == target.load.duration_s


def test_the_locust_command_per_distribution_and_no_locust_in_this_process(tmp_path: Path) -> None:
    target = resolve_target(load_config(ROOT / "smokegate.toml"), "local")
    plan = plan_for(target, session=None, ca_pem=None, headers={})
    local = engine.command(plan, tmp_path, Distribution())
    assert local[1:3] == ["-m", "locust"] and local[4].endswith("smokegate/load/locustfile.py")
    assert "--processes" not in local and "--master" not in local and "--headless" in local
    forked = engine.command(plan, tmp_path, Distribution(processes=2), port=40123)
    assert forked[forked.index("--processes") + 1] == "2"
    assert forked[forked.index("--master-bind-port") + 1] == forked[forked.index("--master-port") + 1] == "40123"
    master = engine.command(plan, tmp_path, Distribution(workers=3, bind_host="0.0.0.0", bind_port=5600))
    assert master[master.index("--expect-workers") + 1] == "3" and "--master" in master
    assert master[master.index("--master-bind-port") + 1] == "5600"
    # Finding the locustfile never imports it: Locust (gevent) must not patch the pytest process.
    assert "locust" not in sys.modules and "gevent" not in sys.modules


def test_the_session_token_is_refreshed_before_it_expires() -> None:
    def jwt(exp: float) -> str:
        import base64
        import json

        body = base64.urlsafe_b64encode(json.dumps({"exp": exp}).encode()).decode().rstrip("=")
        return f"e30.{body}.sig"

    assert session.expires_at(jwt(1000)) == 1000
    assert session.needs_refresh(jwt(1010), now=1000) and not session.needs_refresh(jwt(1060), now=1000)
    assert session.needs_refresh("not-a-jwt", now=1000)
