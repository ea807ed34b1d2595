"""Error rate: a burst's answers tallied, with what the network kept from answering counted apart.

The rate judges the server's answers only: a 5xx is the server's error, a request reset or timed
out on the way (after the probe's retry) is not an answer at all.  How many could not be sent is
always said; when they outnumber the answers, the rate could not be determined.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field


@dataclass
class ErrorTally:
    requests: int = 0
    answered: int = 0
    # "path: status" of every 5xx answer.
    server_errors: list[str] = field(default_factory=list)
    # "path: reason" of every request the network kept from an answer.
    not_sent: list[str] = field(default_factory=list)

    @classmethod
    def of(cls, outcomes: Iterable[tuple[str, int | None, str | None]]) -> ErrorTally:
        """From (path, status or None, network reason or None) per request."""
        tally = cls()
        for path, status, reason in outcomes:
            tally.requests += 1
            if status is None:
                tally.not_sent.append(f"{path}: {reason}")
                continue
            tally.answered += 1
            if status >= 500:
                tally.server_errors.append(f"{path}: {status}")
        return tally

    @property
    def rate(self) -> float:
        return len(self.server_errors) / self.answered if self.answered else 0.0

    def error_paths(self) -> set[str]:
        """The paths that answered 5xx."""
        return {entry.rsplit(": ", 1)[0] for entry in self.server_errors}

    def statuses(self) -> set[int]:
        """The 5xx statuses answered."""
        return {int(entry.rsplit(": ", 1)[1]) for entry in self.server_errors}

    def undetermined(self) -> str | None:
        """Why the rate says nothing: no answers, or fewer answers than requests the network lost."""
        if self.answered and len(self.not_sent) <= self.answered:
            return None
        return (f"{len(self.not_sent)} of {self.requests} requests could not be sent and only {self.answered} "
                f"were answered: {summary(self.not_sent, 2)}")

    def describe(self) -> str:
        text = f"{len(self.server_errors)} of {self.answered} answers were 5xx"
        if self.server_errors:
            text += f": {summary(self.server_errors)}"
        if self.not_sent:
            lost = summary(self.not_sent, 2)
            text += f"; {len(self.not_sent)} request(s) could not be sent and are not counted ({lost})"
        return text


def summary(items: list[str], most: int = 5) -> str:
    return ", ".join(f"{what} x{n}" for what, n in Counter(items).most_common(most))
