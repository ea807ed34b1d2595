"""The testbed's sessions (smokegate.testbed.sessions): one per sign-in, as Clerk's are."""

from __future__ import annotations

from smokegate.testbed.sessions import SessionKeys


def test_two_sign_ins_of_one_user_in_the_same_second_are_two_sessions() -> None:
    # Under xdist two workers sign the synthetic user in at once; when one signs out (its token is
    # revoked), the other's session must live on: the tokens differ, by Clerk's session id.
    keys = SessionKeys.generate()
    user = {"sub": "user_2synthetic", "name": "Synthetic Executive", "email": "synthetic@example.com"}
    first, second = keys.issue(user), keys.issue(user)
    assert first != second
    claims = [keys.verify(token) or {} for token in (first, second)]
    assert all(c.get("sub") == user["sub"] for c in claims), "both verify, as the user's"
    assert claims[0]["sid"] != claims[1]["sid"]
    assert all(c["sid"].startswith("sess_") for c in claims)
