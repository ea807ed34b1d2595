"""Environment variables configured (deployment checklist): every variable the config requires exists
for the deployment's environment in the Vercel project, as Vercel's REST API lists them.

Only names and targets are read: values stay encrypted at Vercel (``decrypt`` is never asked for)
and no value is read, kept or compared.
"""

from __future__ import annotations

from typing import Any

import pytest

from smokegate.config import Target

pytestmark = [pytest.mark.safe, pytest.mark.check(epic="providers")]


@pytest.mark.check(severity="high", feature="environment")
def test_required_env_vars_configured(target: Target, vercel_rest: Any, check_record: Any) -> None:
    from smokegate.checks.provider_state import missing_env
    from smokegate.providers.apis import vercel_envs

    cfg = target.providers.vercel
    missing = missing_env(vercel_envs(vercel_rest, cfg), cfg.required_env, cfg.environment)
    check_record.detail("figures", {"env.missing": len(missing)})
    assert not missing, (
        f"Vercel project {cfg.project} has no {', '.join(missing)} for the {cfg.environment} environment "
        f"({len(missing)} of the {len(cfg.required_env)} required by providers.vercel.required_env): the "
        "deployment runs without them (guide: Environment variables configured); add them in the project's "
        "settings and redeploy"
    )
