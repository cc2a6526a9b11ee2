"""Hash slots of Redis Cluster: splitting them evenly and planning moves toward even.

There are 16384 slots. ``even_split`` gives each of n shards a contiguous range whose sizes
differ by one at most. ``plan_moves`` takes who owns what now and which shards should end
up holding slots, and lists the fewest single-slot moves that make every such shard hold
``16384 // n`` or one more (a shard about to be deleted is simply left out of the targets).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

SLOTS = 16384


@dataclass(frozen=True, order=True)
class Move:
    slot: int
    source: str
    target: str


def even_split(count: int) -> list[tuple[int, int]]:
    """Inclusive (first, last) slot ranges for ``count`` shards, in order.
    Raises ValueError if ``count`` is less than 1."""
    if count < 1:
        raise ValueError("at least one shard holds the slots")
    return [(index * SLOTS // count, (index + 1) * SLOTS // count - 1) for index in range(count)]


def ranges(slots: Iterable[int]) -> list[tuple[int, int]]:
    """Sorted slots as inclusive ranges: {1, 2, 3, 7} -> [(1, 3), (7, 7)]."""
    result: list[tuple[int, int]] = []
    for slot in sorted(slots):
        if result and result[-1][1] == slot - 1:
            result[-1] = (result[-1][0], slot)
        else:
            result.append((slot, slot))
    return result


def expand(slot_ranges: Iterable[Sequence[int]]) -> set[int]:
    """Every slot of the inclusive ``(first, last)`` ranges, as one set. Never raises."""
    return {slot for first, last in slot_ranges for slot in range(first, last + 1)}


def plan_moves(owners: Mapping[str, set[int]], targets: Sequence[str], pinned: Iterable[int] = ()) -> list[Move]:
    """Moves that leave every target with an even share and everyone else with nothing.

    ``owners`` maps each shard that holds slots (or may) to its slots; ``targets`` are the
    shards that should hold slots afterwards. ``pinned`` slots (holding a key too large to
    move) stay where they are: their holder gives away others instead, and a holder that is
    no target keeps them (the caller says why).
    Raises ValueError if ``targets`` is empty.
    """
    pinned = set(pinned)
    if not targets:
        raise ValueError("the slots need at least one shard to go to")
    base, extra = divmod(SLOTS, len(targets))
    # The odd slots stay with those who hold the most already: that moves the fewest.
    by_holding = sorted(targets, key=lambda name: -len(owners.get(name, ())))
    want = {name: base + (1 if index < extra else 0) for index, name in enumerate(by_holding)}
    # Slots to hand out: everything held by non-targets, and each target's surplus (its highest slots).
    free: list[tuple[int, str]] = []
    for name, held in owners.items():
        keep = max(0, want.get(name, 0) - len(held & pinned))
        movable = sorted(held - pinned)
        free += [(slot, name) for slot in movable[keep:]]
    free.sort()
    moves: list[Move] = []
    for name in targets:
        missing = want[name] - len(owners.get(name, set()))
        for _ in range(max(0, missing)):
            if not free:
                break
            slot, source = free.pop(0)
            moves.append(Move(slot, source, name))
    return moves
