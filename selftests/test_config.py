"""The target config: defaults from the guide, merging, and one clear error per problem."""

from __future__ import annotations

from pathlib import Path

import pytest

from smokegate.config import ConfigError, Target, load_config, resolve_target

ROOT = Path(__file__).resolve().parent.parent


def target_of(path: Path, name: str, base_url: str | None = None) -> Target:
    return resolve_target(load_config(path), name, base_url)


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "smokegate.toml"
    path.write_text(text)
    return path


def test_shipped_config_has_the_three_targets() -> None:
    suite = load_config(ROOT / "smokegate.toml").suite
    assert set(suite.targets) >= {"production", "staging", "local"}
    assert suite.targets["production"].base_url == "https://napoleonai.app"
    assert suite.targets["production"].intrusive is False


def test_budgets_default_to_the_ops_guide(tmp_path: Path) -> None:
    target = target_of(write(tmp_path, '[targets.x]\nbase_url = "https://example.test"\n'), "x")
    budgets = target.budgets
    assert (budgets.health_ms, budgets.api_ms, budgets.page_ms, budgets.db_ms, budgets.ai_ms) == (
        500, 500, 2000, 100, 3000)
    assert budgets.error_rate == 0.01
    assert target.ca_bundle == "system"
    assert target.intrusive is False


def test_defaults_merge_into_targets_and_targets_override(tmp_path: Path) -> None:
    path = write(tmp_path, """
[defaults]
page_samples = 5
[defaults.budgets]
page_ms = 1500
[targets.a]
base_url = "https://a.test/"
[targets.b]
base_url = "https://b.test"
[targets.b.budgets]
page_ms = 900
""")
    a, b = target_of(path, "a"), target_of(path, "b")
    assert (a.page_samples, a.budgets.page_ms, a.base_url) == (5, 1500, "https://a.test")
    assert (b.budgets.page_ms, b.budgets.api_ms) == (900, 500)


def test_base_url_override_and_relative_ca_bundle(tmp_path: Path) -> None:
    path = write(tmp_path, '[targets.x]\nbase_url = "https://x.test"\nca_bundle = "certs/ca.pem"\n')
    target = target_of(path, "x", "https://preview-123.vercel.app")
    assert target.base_url == "https://preview-123.vercel.app"
    assert target.ca_bundle == str(tmp_path / "certs" / "ca.pem")


@pytest.mark.parametrize(
    ("text", "target", "expected"),
    [
        ('[targets.x]\nbase_url = "https://x.test"\n', "nope", "--target: unknown target 'nope' in"),
        ('[targets.x]\nbase_url = "not a url"\n', "x", "targets.x.base_url: not an absolute http(s) URL"),
        ("[targets.x]\npages = []\n", "x", "targets.x.base_url: required key is missing"),
        ('[targets.x]\nbase_url = "https://x.test"\ntimeout_s = "soon"\n', "x", "targets.x.timeout_s:"),
        ('[targets.x]\nbase_url = "https://x.test"\nbase_ur1 = "typo"\n', "x", "targets.x.base_ur1: unknown key"),
        ('[targets.x]\nbase_url = "https://x.test"\n[[targets.x.pages]]\nname = "a"\npath = "/"\n', "x",
         "targets.x.pages[0].text: required key is missing"),
        ("[targets.x\n", "x", "not valid TOML"),
        ('[targets.x]\nbase_url = "https://x.test"\n[targets.x.health.metrics]\nmemory = { path = "m" }\n', "x",
         "targets.x.health.metrics.memory: give either unit (percent, ratio, ms, s) or limit_path"),
        ('[targets.x]\nbase_url = "https://x.test"\n[targets.x.health.metrics]\n'
         'uptime = { path = "u", limit_path = "v" }\n', "x",
         "targets.x.health: metrics.uptime: limit_path is for memory only"),
        ('[targets.x]\nbase_url = "https://x.test"\n[targets.x.health.metrics]\ncpu = { path = "c", unit = "ratio" }\n',
         "x", "targets.x.health.metrics.cpu"),
        ('[targets.x]\nbase_url = "https://x.test:84x3"\n', "x",
         "targets.x.base_url: not a valid URL: 'https://x.test:84x3' (Port could not be cast to integer"),
        ('[targets.x]\nbase_url = "https://x.test:70000"\n', "x", "targets.x.base_url: not a valid URL"),
        ('[targets.x]\nbase_url = "https://x .test"\n', "x", "targets.x.base_url: not a URL: 'https://x .test' "
         "contains whitespace"),
    ],
    ids=["unknown-target", "malformed-url", "missing-field", "mistyped-field", "unknown-key", "nested", "toml",
         "metric-unit", "metric-limit", "metric-name", "port-not-a-number", "port-out-of-range", "space-inside"],
)
def test_config_errors_name_the_file_and_key(tmp_path: Path, text: str, target: str, expected: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        target_of(path, target)
    assert str(path) in str(info.value)
    assert expected in str(info.value)


def test_space_around_a_base_url_is_dropped_as_on_the_command_line(tmp_path: Path) -> None:
    path = write(tmp_path, '[targets.x]\nbase_url = " https://x.test:8443/ "\n')
    assert target_of(path, "x").base_url == "https://x.test:8443"
    assert target_of(path, "x", "https://y.test:8443 ").base_url == "https://y.test:8443"


def test_duplicate_page_names_under_defaults_are_reported_once_as_defaults_pages(tmp_path: Path) -> None:
    pages = "".join(f'[[defaults.pages]]\nname = "landing"\npath = "/{n}"\ntext = "t"\n' for n in range(2))
    targets = "".join(f'[targets.{n}]\nbase_url = "https://{n}.test"\n' for n in "abcd")
    path = write(tmp_path, pages + targets)
    with pytest.raises(ConfigError) as info:
        target_of(path, "a")
    lines = str(info.value).splitlines()[1:]
    assert lines == [f"  {path}: defaults.pages: duplicate name(s): landing (each names a check's parameter)"]


def test_duplicate_names_in_a_target_name_its_key(tmp_path: Path) -> None:
    api = "".join(f'[[targets.x.api]]\nname = "plans"\npath = "/api/{n}"\n' for n in range(2))
    path = write(tmp_path, f'[targets.x]\nbase_url = "https://x.test"\n{api}')
    with pytest.raises(ConfigError, match=r"targets\.x\.api: duplicate name\(s\): plans"):
        target_of(path, "x")


def test_missing_config_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="target config file not found"):
        load_config(tmp_path / "absent.toml")


def test_secrets_come_only_from_named_environment_variables(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path, '[targets.x]\nbase_url = "https://x.test"\nsecret_env = ["STRIPE_SECRET_KEY"]\n')
    target = target_of(path, "x")
    monkeypatch.delenv("STRIPE_SECRET_KEY", raising=False)
    assert target.secret("STRIPE_SECRET_KEY") is None
    monkeypatch.setenv("STRIPE_SECRET_KEY", "sk_test_value")
    assert target.secret("STRIPE_SECRET_KEY") == "sk_test_value"
    with pytest.raises(KeyError):
        target.secret("HOME")


def test_a_mistake_under_defaults_is_reported_once_where_it_was_written(tmp_path: Path) -> None:
    path = write(tmp_path, """
[defaults]
timeout_s = "soon"
[defaults.budgets]
page_mss = 1500
[targets.a]
base_url = "https://a.test"
[targets.b]
base_url = "https://b.test"
timeout_s = 5
[targets.c]
base_url = "ftp://c.test"
""")
    with pytest.raises(ConfigError) as info:
        target_of(path, "a")
    text = str(info.value)
    assert text.count("timeout_s") == 1 and f"{path}: defaults.timeout_s:" in text
    assert text.count("page_mss") == 1 and f"{path}: defaults.budgets.page_mss: unknown key" in text
    # A target's own mistake is still reported under its own name.
    assert f"{path}: targets.c.base_url: not an absolute http(s) URL" in text
    assert "targets.a." not in text and "targets.b." not in text


@pytest.mark.parametrize("value", ['"yes"', '"true"', "1"])
def test_safety_switches_take_real_booleans_only(tmp_path: Path, value: str) -> None:
    path = write(tmp_path, f'[targets.x]\nbase_url = "https://x.test"\nintrusive = {value}\n')
    with pytest.raises(ConfigError, match=r"targets\.x\.intrusive: Input should be a valid boolean"):
        target_of(path, "x")


def test_there_is_no_implicit_default_target(tmp_path: Path) -> None:
    path = write(tmp_path, '[settings]\ndefault_target = "x"\n[targets.x]\nbase_url = "https://x.test"\n')
    with pytest.raises(ConfigError, match="settings: unknown section"):
        load_config(path)


def test_a_directory_is_not_a_config_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="is a directory"):
        load_config(tmp_path)


def test_where_names_the_section_a_key_was_written_in(tmp_path: Path) -> None:
    path = write(tmp_path, '[defaults]\nca_bundle = "a.pem"\n[targets.x]\nbase_url = "https://x.test"\n'
                           '[targets.y]\nbase_url = "https://y.test"\nca_bundle = "b.pem"\n')
    loaded = load_config(path)
    assert loaded.where("x", "ca_bundle") == f"{path}: defaults.ca_bundle"
    assert loaded.where("y", "ca_bundle") == f"{path}: targets.y.ca_bundle"


# -- providers and maintenance (issue 23) ----------------------------------------------------------------


def test_provider_tokens_join_secret_env_whatever_secret_env_says(tmp_path: Path) -> None:
    path = write(tmp_path, '[targets.x]\nbase_url = "https://x.test"\nsecret_env = ["OTHER"]\n'
                           '[targets.x.providers.stripe]\ntoken_env = "STRIPE_RESTRICTED"\n')
    target = target_of(path, "x")
    assert target.secret_env == ("OTHER", "VERCEL_TOKEN", "SUPABASE_ACCESS_TOKEN", "STRIPE_RESTRICTED")
    # The model survives a round trip (xdist workers rebuild it) without repeating names.
    assert Target.model_validate(target.model_dump(mode="json")).secret_env == target.secret_env


@pytest.mark.parametrize(("section", "words"), [
    ('[targets.x.providers.vercel]\ntoken_env = "not a name"\n', "targets.x.providers.vercel.token_env"),
    ('[targets.x.providers.supabase]\nbackup_max_age_h = 0\n', "targets.x.providers.supabase.backup_max_age_h"),
    ('[targets.x.providers.stripe]\napi_url = "http://api.stripe.com"\n', "targets.x.providers.stripe.api_url"),
    ('[targets.x.providers.status]\ncache_s = -1\n', "targets.x.providers.status.cache_s"),
    ('[[targets.x.providers.status.pages]]\nname = "a"\nlabel = "A"\nurl = "https://a.test"\ncomponents = []\n',
     "targets.x.providers.status.pages[0].components"),
    ('[targets.x.providers.clerk]\nunknown = 1\n', "targets.x.providers.clerk.unknown: unknown key"),
    ('[[targets.x.maintenance]]\nname = "w"\nweekly = "every day"\n', "targets.x.maintenance[0]"),
])
def test_provider_and_maintenance_mistakes_name_the_key(tmp_path: Path, section: str, words: str) -> None:
    path = write(tmp_path, '[targets.x]\nbase_url = "https://x.test"\n' + section)
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert words in str(caught.value)


def test_provider_urls_from_the_environment_must_be_https(tmp_path: Path) -> None:
    from smokegate.preflight import provider_problems

    target = target_of(write(tmp_path, '[targets.x]\nbase_url = "https://x.test"\n'), "x")
    problems = provider_problems(target, {"SMOKEGATE_VERCEL_API_URL": "http://127.0.0.1:9",
                                          "SMOKEGATE_STATUS_STRIPE_URL": "ftp://status",
                                          "VERCEL_TOKEN": "tok en", "SUPABASE_ACCESS_TOKEN": "sbp_fine"})
    assert problems == [
        "env VERCEL_TOKEN (providers.vercel.token_env): the value contains whitespace, a line break or a control "
        "character",
        "env SMOKEGATE_VERCEL_API_URL (providers.vercel.api_url_env): provider APIs and status pages are only read "
        "over HTTPS",
        "env SMOKEGATE_STATUS_STRIPE_URL (providers.status.pages[stripe].url_env): 'ftp://status' is not an absolute "
        "http(s) URL",
    ]
    assert "tok en" not in " ".join(problems)
