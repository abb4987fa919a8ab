"""Matching a SendGrid account's e-mail to a person, and classifying it.

Pure: `MatchIndex` is built once from the directory (people, manual links,
company domains) and then answers for any number of accounts, so a full
reclassification of 200,000 accounts reads the directory once. The rules
(docs/people.md):

1. A manual link of the account's e-mail wins over everything.
2. Else the people whose primary e-mail or alias is the account's e-mail
   claim it. Exactly one claimant: matched (by `email` if it is their primary
   e-mail, else by `alias`). Two or more: `ambiguous`, naming them; never
   guessed. People who are `gone` (no longer in any source) claim an e-mail
   only when nobody else does: a directory that moved from a file to SCIM
   must not leave every account ambiguous between the old and new records.
3. Matched: a person who has left (terminated or gone) makes the account a
   `leaver`; else the account takes the person's type.
4. Unmatched: an e-mail on a company domain (or a subdomain of one) is
   `unknown_internal`; any other e-mail, or none, is `external`.

Both sides are compared in `email_key` form (NFKC + casefold).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from smp.model.people import (
    LEFT_STATUSES,
    Classification,
    MatchedBy,
    PersonStatus,
    PersonType,
    domain_key,
    domain_of,
    email_key,
)


@dataclass(frozen=True, slots=True)
class Claimant:
    """What matching needs to know of one person."""

    id: int
    email: str
    status: PersonStatus
    type: PersonType
    aliases: tuple[str, ...] = ()
    # For the offboarding lag (see termination_time).
    end_date: dt.date | None = None
    terminated_at: dt.datetime | None = None

    @property
    def has_left(self) -> bool:
        return self.status in LEFT_STATUSES


@dataclass(frozen=True, slots=True)
class Match:
    """One account's verdict."""

    person_id: int | None
    matched_by: MatchedBy | None
    classification: Classification
    # Who claims the e-mail, when more than one person does; else None.
    ambiguity: str | None = None


_EXTERNAL = Match(None, None, Classification.EXTERNAL)
_UNKNOWN_INTERNAL = Match(None, None, Classification.UNKNOWN_INTERNAL)


def classify_person(person: Claimant) -> Classification:
    """A matched account's class: `leaver` if the person has left, else their type."""
    if person.has_left:
        return Classification.LEAVER
    return _BY_TYPE[person.type]


_BY_TYPE = {kind: Classification(kind.value) for kind in PersonType}


class MatchIndex:
    """The directory indexed by e-mail key, ready to classify accounts."""

    def __init__(
        self,
        people: Iterable[Claimant],
        links: Mapping[str, int],
        domains: Iterable[str],
    ) -> None:
        """`links`: e-mail key -> person id; `domains`: company domains (any form)."""
        self.people: dict[int, Claimant] = {}
        # e-mail key -> ids of people whose primary e-mail / alias it is
        self._primary: dict[str, list[int]] = {}
        self._alias: dict[str, list[int]] = {}
        for person in people:
            self.people[person.id] = person
            key = email_key(person.email)
            self._primary.setdefault(key, []).append(person.id)
            for alias in person.aliases:
                alias_key = email_key(alias)
                if alias_key and alias_key != key:
                    ids = self._alias.setdefault(alias_key, [])
                    if person.id not in ids:  # the same alias given twice
                        ids.append(person.id)
        self._links = {email_key(k): v for k, v in links.items()}
        self._domains = frozenset(domain_key(d) for d in domains)
        # Accounts repeat e-mails across integrations: each key is decided
        # once, and each e-mail as written normalised once.
        self._memo: dict[str, Match] = {}
        self._written: dict[str, Match] = {}
        self._keys: dict[str, str] = {}

    def classify(self, email: str | None) -> Match:
        """The verdict for an account with this e-mail (None: it has none)."""
        if not email:
            return _EXTERNAL
        found = self._written.get(email)
        if found is not None:
            return found
        key = self.key_of(email)
        found = self._memo.get(key)
        if found is None:
            found = self._memo[key] = self._decide(key) if key else _EXTERNAL
        self._written[email] = found
        return found

    def key_of(self, email: str) -> str:
        """The e-mail's key ('' when it has none), normalised once per form
        written: stored beside each account's verdict, so a directory change
        finds the accounts of the e-mails it touched."""
        key = self._keys.get(email)
        if key is None:
            key = self._keys[email] = email_key(email)
        return key

    def _decide(self, key: str) -> Match:
        linked = self._links.get(key)
        if linked is not None and linked in self.people:
            person = self.people[linked]
            return Match(person.id, MatchedBy.MANUAL, classify_person(person))
        only = self._primary.get(key)
        if only is not None and len(only) == 1 and key not in self._alias:
            # The common case: one person's primary e-mail, nobody's alias.
            person = self.people[only[0]]
            return Match(person.id, MatchedBy.EMAIL, classify_person(person))
        primary = set(self._primary.get(key, ()))
        alias = set(self._alias.get(key, ()))
        claimants = sorted(primary | alias)
        if len(claimants) > 1:
            # Gone people yield to anyone still in a source.
            staying = [i for i in claimants if not self._gone(i)]
            claimants = staying or claimants
        if not claimants:
            return self._unmatched(key)
        if len(claimants) > 1:
            return Match(
                None,
                None,
                Classification.AMBIGUOUS,
                _ambiguity(claimants, primary),
            )
        person = self.people[claimants[0]]
        how = MatchedBy.EMAIL if person.id in primary else MatchedBy.ALIAS
        return Match(person.id, how, classify_person(person))

    def _gone(self, person_id: int) -> bool:
        return self.people[person_id].status is PersonStatus.GONE

    def _unmatched(self, key: str) -> Match:
        domain = domain_of(key)
        while domain:
            if domain in self._domains:
                return _UNKNOWN_INTERNAL
            domain = domain.partition(".")[2]
        return _EXTERNAL


def _ambiguity(claimants: list[int], primary: set[int]) -> str:
    parts = []
    for person_id in claimants:
        # A person's own alias equal to their primary e-mail is not indexed,
        # so each claimant is one or the other.
        how = "primary e-mail" if person_id in primary else "alias"
        parts.append(f"{person_id} ({how})")
    return "claimed by people " + ", ".join(parts)


def termination_time(person: Claimant) -> dt.datetime | None:
    """When a person's employment ended, as the offboarding lag counts it.

    The HR end date (at 00:00 UTC) when the directory gives one: it is the
    real date, while `terminated_at` is only when SMP learnt of it (an import
    may come weeks late). Else when SMP learnt they were terminated or gone.
    """
    if person.end_date is not None:
        return dt.datetime.combine(person.end_date, dt.time(), tzinfo=dt.UTC)
    return person.terminated_at


def offboarding_lag_s(
    person: Claimant | None, *, was_leaver: bool, removed_at: dt.datetime
) -> int | None:
    """Whole seconds from the person's termination to the account's removal.

    Only for an account that was a leaver's, or whose person has left by the
    time it disappears; None when no termination time is known. An account
    removed before the termination counts 0: offboarded in time, never early
    by a negative amount.
    """
    if person is None or not (was_leaver or person.has_left):
        return None
    ended = termination_time(person)
    if ended is None:
        return None
    return max(0, int((removed_at - ended).total_seconds()))
