"""Before anything else: does the target answer HTTP at all?"""

import pytest

from smokegate.reach import Reachability

pytestmark = [pytest.mark.safe, pytest.mark.check(epic="smoke")]


@pytest.mark.reachability
@pytest.mark.check(severity="critical", feature="availability", required=True)
def test_target_is_reachable(reachability: Reachability) -> None:
    assert reachability.reachable, reachability.summary
