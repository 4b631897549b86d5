"""The demo's message mix: every kind present, the counts exact, the order repeatable."""

from __future__ import annotations

from dispatcher.commands.demo_messages import (
    INVALID_DESTINATIONS,
    INVALID_NUMBER_KIND,
    KINDS,
    demo_records,
)


def test_every_kind_appears_and_the_counts_add_up() -> None:
    records, kinds = demo_records(300, seed=3)
    assert len(records) == sum(kinds.values()) == 300
    assert all(kinds[kind.name] >= 1 for kind in KINDS)
    to_invalid = [r for r in records if r.destination in INVALID_DESTINATIONS]
    assert len(to_invalid) == kinds[INVALID_NUMBER_KIND]


def test_the_mix_is_repeatable_for_a_seed_and_differs_between_seeds() -> None:
    assert demo_records(200, seed=1) == demo_records(200, seed=1)
    assert demo_records(200, seed=1)[0] != demo_records(200, seed=2)[0]


def test_too_few_messages_for_every_kind_are_all_plain_latin() -> None:
    records, kinds = demo_records(len(KINDS) - 1)
    assert kinds[KINDS[0].name] == len(records) == len(KINDS) - 1
    assert all(r.destination not in INVALID_DESTINATIONS for r in records)
