from __future__ import annotations

import itertools

import pytest

from managed_redis.engine.slots import SLOTS, Move, even_split, expand, plan_moves, ranges


def test_even_split_covers_every_slot_once() -> None:
    for count in (1, 3, 7, 10):
        split = even_split(count)
        sizes = [last - first + 1 for first, last in split]
        assert sum(sizes) == SLOTS and max(sizes) - min(sizes) <= 1
        assert split[0][0] == 0 and split[-1][1] == SLOTS - 1
        assert all(a[1] + 1 == b[0] for a, b in itertools.pairwise(split))


def test_ranges_round_trip() -> None:
    assert ranges({1, 2, 3, 7, 9, 10}) == [(1, 3), (7, 7), (9, 10)]
    assert expand(ranges({5, 6, 100})) == {5, 6, 100}


def apply(owners: dict[str, set[int]], moves: list[Move]) -> dict[str, set[int]]:
    result = {name: set(slots) for name, slots in owners.items()}
    for move in moves:
        result[move.source].remove(move.slot)
        result.setdefault(move.target, set()).add(move.slot)
    return result


def test_adding_a_shard_moves_only_what_it_needs() -> None:
    owners = {f"s{i}": expand([rng]) for i, rng in enumerate(even_split(3))}
    owners["s3"] = set()
    moves = plan_moves(owners, ["s0", "s1", "s2", "s3"])
    assert len(moves) == SLOTS // 4
    after = apply(owners, moves)
    assert sorted(len(v) for v in after.values()) == [4096] * 4
    assert set().union(*after.values()) == set(range(SLOTS))


def test_removing_a_shard_empties_it_evenly() -> None:
    owners = {f"s{i}": expand([rng]) for i, rng in enumerate(even_split(4))}
    moves = plan_moves(owners, ["s0", "s1", "s2"])
    after = apply(owners, moves)
    assert after["s3"] == set()
    sizes = sorted(len(after[name]) for name in ("s0", "s1", "s2"))
    assert sizes[-1] - sizes[0] <= 1 and sum(sizes) == SLOTS
    assert {m.source for m in moves} == {"s3"}


def test_balanced_cluster_needs_no_moves() -> None:
    owners = {f"s{i}": expand([rng]) for i, rng in enumerate(even_split(3))}
    assert plan_moves(owners, ["s0", "s1", "s2"]) == []
    with pytest.raises(ValueError):
        plan_moves(owners, [])


def test_a_pinned_slot_stays_and_its_holder_gives_another_instead() -> None:
    owners = {f"s{i}": expand([rng]) for i, rng in enumerate(even_split(3))}
    owners["s3"] = set()
    # s0's highest slot would go first; pinned (a key too large to move), it stays.
    pinned = {max(owners["s0"])}
    moves = plan_moves(owners, ["s0", "s1", "s2", "s3"], pinned)
    assert pinned.isdisjoint(m.slot for m in moves)
    after = apply(owners, moves)
    assert pinned <= after["s0"]
    assert sorted(len(v) for v in after.values()) == [4096] * 4


def test_a_pinned_slot_of_a_leaving_shard_stays_with_it() -> None:
    owners = {f"s{i}": expand([rng]) for i, rng in enumerate(even_split(4))}
    pinned = {min(owners["s3"])}
    after = apply(owners, plan_moves(owners, ["s0", "s1", "s2"], pinned))
    assert after["s3"] == pinned
    assert set().union(*after.values()) == set(range(SLOTS))
