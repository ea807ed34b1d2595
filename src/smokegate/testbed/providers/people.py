"""The platform's customers and users, as the provider stand-ins know them: personal data no artifact may hold.

Stripe's charges carry their names and emails, Clerk's users their names, emails and ids.  The
suite only counts them; the canary self-test looks for every one of these values in every file a
run wrote.  Invented people (``.example`` addresses), long enough for the scrubber's minimum.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Person:
    first: str
    last: str
    email: str

    @property
    def name(self) -> str:
        return f"{self.first} {self.last}"


_NAMES = (
    ("Grace", "Hopperfield"), ("Katherine", "Johnsonwell"), ("Edsger", "Dijkstrand"), ("Barbara", "Liskovich"),
    ("Dennis", "Ritchford"), ("Frances", "Allenby"), ("Donald", "Knuthson"), ("Margaret", "Hamiltree"),
    ("Leslie", "Lamporte"), ("Radia", "Perlmanne"), ("Vinton", "Cerfield"), ("Shafi", "Goldwasserman"),
)
PEOPLE: tuple[Person, ...] = tuple(
    Person(first, last, f"{first.lower()}.{last.lower()}@customers.napoleon-testbed.example") for first, last in _NAMES
)
