"""Watch schedules in smokegate.toml: the guide's defaults, [defaults.watch] and per-target overrides."""

from __future__ import annotations

from pathlib import Path

import pytest

from smokegate.config import ConfigError, Target, load_config
from smokegate.ops.watch_config import SUITE_NAMES as SUITES

BASE = """
[targets.production]
base_url = "https://napoleonai.app"

[targets.staging]
base_url = "https://staging.napoleonai.app"
"""


def _load(tmp_path: Path, extra: str) -> dict[str, Target]:
    path = tmp_path / "smokegate.toml"
    path.write_text(BASE + extra)
    return dict(load_config(path).suite.targets)


def test_the_guides_schedule_is_the_default() -> None:
    watch = load_config(Path(__file__).resolve().parents[2] / "smokegate.toml").suite.targets["production"].watch
    schedules = {name: (watch.schedule(name).every_s, watch.schedule(name).enabled) for name in SUITES}
    assert schedules == {"health": (30.0, True), "smoke": (300.0, True), "security": (900.0, True),
                         "synthetic": (900.0, True), "providers": (900.0, True)}


def test_defaults_apply_to_every_target_and_a_target_overrides_them(tmp_path: Path) -> None:
    targets = _load(
        tmp_path,
        """
[defaults.watch.health]
every_s = 60
timeout_s = 20

[targets.staging.watch.synthetic]
enabled = false
""",
    )
    production, staging = targets["production"].watch, targets["staging"].watch
    assert (production.health.every_s, production.health.timeout_s) == (60.0, 20.0)
    assert (staging.health.every_s, staging.health.timeout_s) == (60.0, 20.0)
    assert production.synthetic.enabled and not staging.synthetic.enabled
    assert staging.synthetic.every_s == 900.0  # the suite's own default, not a generic one


@pytest.mark.parametrize(
    ("extra", "where", "message"),
    [
        ('[targets.staging.watch.smoke]\nenabled = "yes"\n', "targets.staging.watch.smoke.enabled",
         "valid boolean"),
        ("[targets.staging.watch.health]\nevery = 30\n", "targets.staging.watch.health.every", "unknown key"),
        ("[targets.staging.watch.health]\nevery_s = 0\n", "targets.staging.watch.health.every_s", "greater than"),
        ("[targets.staging.watch.nightly]\nevery_s = 60\n", "targets.staging.watch.nightly", "unknown key"),
    ],
)
def test_a_bad_watch_setting_names_the_file_and_key(tmp_path: Path, extra: str, where: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        _load(tmp_path, extra)
    text = str(caught.value)
    assert f"{tmp_path / 'smokegate.toml'}: {where}: " in text
    assert message in text
