"""The deployment examples say what they do: the systemd unit's user exists, the image's browser is
described as Playwright launches it."""

from __future__ import annotations

import configparser
import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent.parent
UNIT = ROOT / "deploy" / "systemd" / "smokegate-watch.service"
SYSUSERS = ROOT / "deploy" / "systemd" / "smokegate.sysusers.conf"


def _unit_user() -> str:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.read_string(UNIT.read_text())
    return parser["Service"]["User"]


def test_the_systemd_unit_runs_as_a_user_its_sysusers_file_creates(tmp_path: Path) -> None:
    user = _unit_user()
    declared = [line.split() for line in SYSUSERS.read_text().splitlines() if line.strip() and not line.startswith("#")]
    assert ["u", user] in [entry[:2] for entry in declared]
    assert f"install -m 644 {SYSUSERS.name} /etc/sysusers.d/" in UNIT.read_text(), "the unit's header installs it"
    if shutil.which("systemd-sysusers") is None:
        pytest.skip("systemd-sysusers is not installed: the file was checked for its line only")
    (tmp_path / "etc").mkdir()
    done = subprocess.run(["systemd-sysusers", f"--root={tmp_path}", str(SYSUSERS)], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    passwd = (tmp_path / "etc" / "passwd").read_text()
    (entry,) = [line for line in passwd.splitlines() if line.startswith(f"{user}:")]
    assert entry.endswith(":/opt/smokegate:/usr/sbin/nologin"), entry
    assert "WorkingDirectory=/opt/smokegate" in UNIT.read_text()


def test_the_dockerfile_describes_chromium_as_playwright_launches_it() -> None:
    """Playwright adds --no-sandbox unless launched with chromium_sandbox=True, which smokegate never asks for."""
    sources = "\n".join(p.read_text() for p in (ROOT / "src" / "smokegate").rglob("*.py"))
    assert "chromium_sandbox" not in sources
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "--no-sandbox" in dockerfile
    assert not re.search(r"with its sandbox", dockerfile)
    assert re.search(r"^USER smokegate$", dockerfile, re.M), "the browser runs as the unprivileged user"
