"""The scrubber: secrets by value and by shape, in text and inside trace archives."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest

from smokegate.scrub import MASK, Scrubber

PASSWORD = "Canary-P@ss word&42"
JWT = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ1c2VyXzEifQ.c2lnbmF0dXJlLXZhbHVl"


def test_known_value_in_every_encoding() -> None:
    scrub = Scrubber([PASSWORD])
    text = f"{PASSWORD} | email=a%40b.c&password=Canary-P%40ss%20word%2642 | {json.dumps(PASSWORD)}"
    assert "Canary" not in scrub.text(text)


def test_shapes_without_known_values() -> None:
    scrub = Scrubber()
    text = (
        f"https://app.example/sso-callback?code=abcDEF123456&state=xyz | {JWT} | "
        '{"name":"cookie","value":"__session=abc; other=1"} | {"name":"Set-Cookie","value":"x=y"} | '
        '{"name":"__session","value":"opaque-value-1234","domain":"localhost"} | '
        "https://x/cb\\u0026code=QWERTY123456\\u0026 | Cookie: __client=zzz999"
    )
    cleaned = scrub.text(text)
    for secret in ("abcDEF123456", JWT, "__session=abc", "x=y", "opaque-value-1234", "QWERTY123456", "zzz999"):
        assert secret not in cleaned, secret
    assert "state=xyz" in cleaned and MASK in cleaned


@pytest.mark.parametrize(("text", "expected"), [
    ("a=1; __session=abc123; b=2", f"a=1; __session={MASK}; b=2"),
    ("?x=1&__client_uat=1700000000", f"?x=1&__client_uat={MASK}"),
    ("__clerk_db_jwt=dvb_2abc", f"__clerk_db_jwt={MASK}"),
    ("__client=zzz", f"__client={MASK}"),
    ("a__session=abc123", "a__session=abc123"),      # inside a longer name: not Clerk's cookie
    ("___session=abc123", "___session=abc123"),
    ("__sessionx=abc123", "__sessionx=abc123"),
])
def test_clerk_cookie_pairs_are_masked_only_at_a_word_boundary(text: str, expected: str) -> None:
    assert Scrubber().text(text) == expected


def test_a_script_s_url_template_is_not_a_secret() -> None:
    """Locust's HTML report bundles a script building ``?code=${e}``: masking it left a blank page."""
    script = "const n=new URL(`https://mui.com/production-error/?code=${e}`);return t.forEach(e=>n)"
    assert Scrubber().text(script) == script
    assert Scrubber().text("?code=$ecret-value-123") == f"?code={MASK}"


def test_short_values_are_not_treated_as_secrets() -> None:
    assert Scrubber(["abc"]).text("abc def") == "abc def"


def test_zip_members_are_scrubbed_and_binaries_kept(tmp_path: Path) -> None:
    archive = tmp_path / "trace.zip"
    png = b"\x89PNG\r\n\x1a\n" + bytes(range(256))
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("trace.trace", json.dumps({"params": {"value": PASSWORD}}))
        z.writestr("resources/shot.png", png)
    assert Scrubber([PASSWORD]).file(archive)
    with zipfile.ZipFile(archive) as z:
        assert PASSWORD not in z.read("trace.trace").decode()
        assert z.read("resources/shot.png") == png


def test_server_side_key_shapes_and_connection_string_passwords() -> None:
    from smokegate.testbed.fake_secrets import DATABASE_URL, FAKE_SECRETS

    keys = [FAKE_SECRETS[n] for n in ("SUPABASE_SECRET_KEY", "STRIPE_SECRET_KEY", "OPENAI_API_KEY", "CLERK_SECRET_KEY")]
    password = DATABASE_URL.split("@", 1)[0].rsplit(":", 1)[1]
    cleaned = Scrubber().text(f'{{"database":{{"url":"{DATABASE_URL}"}}}} ' + " ".join(keys))
    assert password not in cleaned and not any(k in cleaned for k in keys)
    assert "pooler.supabase.com:6543" in cleaned  # where it points stays readable
