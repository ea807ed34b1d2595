"""Before anything else: does the target answer HTTP at all?"""

from typing import Any

import pytest

from smokegate.checks import causes
from smokegate.reach import Reachability

pytestmark = [pytest.mark.safe, pytest.mark.check(epic="smoke")]


@pytest.mark.reachability
@pytest.mark.check(severity="critical", feature="availability", required=True)
def test_target_is_reachable(reachability: Reachability, check_record: Any) -> None:
    if (reachability.reason or "").startswith("TLS handshake failed: certificate"):
        # The TLS checks diagnose the same certificate: one finding (tests/security/test_tls.py).
        check_record.cause(*causes.TLS_CERTIFICATE)
    assert reachability.reachable, reachability.summary
