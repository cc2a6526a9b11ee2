"""Reading what Redis Cluster nodes say of the slots (``CLUSTER NODES``): open slots, owners,
and which slots are troubled (open somewhere, or owned by different nodes in different views)."""

from __future__ import annotations

from managed_redis.engine.slot_states import (
    claimed_owners,
    open_slots,
    owners_digest,
    slot_state,
    troubled_slots,
    views_of_slot,
)

A, B, C = "a" * 40, "b" * 40, "c" * 40


def nodes(me: str, lines: dict[str, tuple[int, str]], extra: str = "") -> str:
    """CLUSTER NODES text as node ``me`` writes it: node id -> (config epoch, slots)."""
    out = []
    for node_id, (epoch, slots) in lines.items():
        flags = "myself,master" if node_id == me else "master"
        tail = f" {slots}" if slots else ""
        if node_id == me and extra:
            tail += f" {extra}"
        out.append(f"{node_id} 10.0.0.1:6379@16379 {flags} - 0 0 {epoch} connected{tail}")
    return "\n".join(out) + "\n"


AGREED = {A: (1, "0-8191"), B: (2, "8192-16383"), C: (3, "")}


def test_open_slots_are_read_from_the_nodes_own_line() -> None:
    text = nodes(A, AGREED, f"[100->-{C}] [101-<-{B}]")
    state = slot_state(text)
    assert state.node_id == A and state.is_master
    assert state.migrating == {100: C} and state.importing == {101: B}
    assert open_slots(text) == (100, 101)
    assert 100 in state.owners[A][1]  # an open slot is still its owner's
    assert open_slots(nodes(B, AGREED)) == ()


def test_agreeing_views_have_one_digest_and_no_trouble() -> None:
    texts = [nodes(me, AGREED) for me in (A, B, C)]
    assert len({owners_digest(text) for text in texts}) == 1
    assert troubled_slots([slot_state(text) for text in texts]) == set()


def test_a_slot_open_on_one_node_is_troubled() -> None:
    states = [slot_state(nodes(A, AGREED, f"[7->-{C}]")), slot_state(nodes(C, AGREED, f"[7-<-{A}]"))]
    assert troubled_slots(states) == {7}


def test_views_naming_different_owners_differ_and_the_higher_epoch_wins() -> None:
    moved = {A: (1, "0-8190"), B: (2, "8192-16383"), C: (4, "8191")}
    old, new = nodes(A, AGREED), nodes(C, moved)
    assert owners_digest(old) != owners_digest(new)
    states = [slot_state(old), slot_state(new)]
    assert troubled_slots(states) == {8191}
    assert claimed_owners(states)[8191] == C


def test_a_dispute_is_described_node_by_node_with_names_for_known_ids() -> None:
    moved = {A: (1, "0-8190"), B: (2, "8192-16383"), C: (4, "8191")}
    states = {"a": slot_state(nodes(A, AGREED, f"[8191->-{C}]")), "c": slot_state(nodes(C, moved, f"[8191-<-{A}]"))}
    assert views_of_slot(states, 8191) == (
        "a: owner a (epoch 1), migrating to c; c: owner c (epoch 4), importing from a"
    )
    unknown = "d" * 40
    lone = {"b": slot_state(nodes(B, {B: (2, ""), unknown: (5, "9")}))}
    assert views_of_slot(lone, 9) == f"b: owner {unknown} (epoch 5)"
    assert views_of_slot(lone, 10) == "b: no owner"
