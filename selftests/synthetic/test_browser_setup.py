"""Browser resolution, TLS pinning and the test account's repr: the parts that need no browser."""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path

import pytest
import trustme
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from smokegate.plugin.browser_fixtures import Credentials
from smokegate.synthetic.browser import NoBrowser, driver_compile_cache, find_chromium
from smokegate.synthetic.cert_pin import PendingTrust, TrustError, chromium_trust_args, pin_of_certificate
from smokegate.synthetic.config import SyntheticConfig
from smokegate.synthetic.journey import looks_like_bot_challenge, redact_url
from smokegate.testbed.control import RunningTestbed


def test_playwrights_own_chromium_comes_first(tmp_path: Path) -> None:
    own = tmp_path / "chrome"
    own.write_text("")
    assert find_chromium(str(own), which=lambda name: "/usr/bin/" + name) is None


def test_system_chromium_in_order() -> None:
    found = {"chromium-browser": "/usr/bin/chromium-browser", "google-chrome": "/opt/chrome"}
    assert find_chromium("/missing/chrome", which=found.get) == "/usr/bin/chromium-browser"


def test_no_browser_is_one_clear_error() -> None:
    with pytest.raises(NoBrowser, match="apt-get install chromium"):
        find_chromium(None, which=lambda name: None)


def test_the_drivers_compile_cache_is_a_user_cache_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert driver_compile_cache() == tmp_path / "smokegate" / "node-compile-cache"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert driver_compile_cache() == tmp_path / "home" / ".cache" / "smokegate" / "node-compile-cache"


def test_system_trust_store_needs_no_flag() -> None:
    assert chromium_trust_args("https://napoleonai.app", "system") == []


def test_the_pin_made_in_a_thread_is_the_pin(healthy_testbed: RunningTestbed, tmp_path: Path) -> None:
    pending = PendingTrust(healthy_testbed.url, healthy_testbed.ca_file)
    assert pending.result() == chromium_trust_args(healthy_testbed.url, healthy_testbed.ca_file)
    assert pending.result()[0].startswith("--ignore-certificate-errors-spki-list=")
    assert PendingTrust(healthy_testbed.url, "system").result() == []
    other_ca = tmp_path / "other-ca.pem"
    other_ca.write_bytes(trustme.CA().cert_pem.bytes())
    with pytest.raises(TrustError, match=r"TLS verification with .* failed"):
        PendingTrust(healthy_testbed.url, str(other_ca)).result()  # raised where the result is asked for


def test_pin_is_the_sha256_of_the_public_key() -> None:
    cert = trustme.CA().issue_cert("localhost")
    der = x509.load_pem_x509_certificate(cert.cert_chain_pems[0].bytes())
    spki = der.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    expected = base64.b64encode(hashlib.sha256(spki).digest()).decode()
    assert pin_of_certificate(der.public_bytes(serialization.Encoding.DER)) == expected


def test_credentials_never_show_the_password() -> None:
    credentials = Credentials(("qa@example.com", "hunter2-canary"))
    assert "hunter2" not in repr(credentials) and credentials[1] == "hunter2-canary"


def test_bot_challenges_are_recognised() -> None:
    assert looks_like_bot_challenge("https://accounts.google.com/v3/signin/challenge/recaptcha", "")
    assert looks_like_bot_challenge("https://x", "<h1>Verify it's you</h1>")
    assert not looks_like_bot_challenge("https://x/dashboard", "<h1>Good morning</h1>")


def test_redacted_urls_keep_names_not_values() -> None:
    assert redact_url("https://a.example/cb?code=SECRET&state=s") == "https://a.example/cb?code=…&state=…"


def test_config_rejects_an_unknown_journey_provider() -> None:
    with pytest.raises(ValueError, match=r"account\.provider"):
        SyntheticConfig.model_validate(
            {
                "account": {"provider": "github"},
                "providers": [
                    {
                        "name": "google",
                        "label": "Continue with Google",
                        "authorize_host": "accounts.google.com",
                        "client_id": "x",
                    }
                ],
            }
        )
