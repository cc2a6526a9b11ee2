"""What Redis Cluster nodes say about hash slots, read from ``CLUSTER NODES``: pure parsing.

A node lists every node it knows with its config epoch and the slots it owns; on its own
line (``myself``) it also lists the slots it has open: ``[slot->-id]`` MIGRATING to node
``id``, ``[slot-<-id]`` IMPORTING from it. A slot is *troubled* when some node has it open,
or when the nodes do not name the same owner for it: the two ways a move left half-done
shows. Used by the slot mover (to settle such slots) and by the probe (as facts).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class SlotState:
    """What one node says of the slots: node id -> (config epoch, slots it owns), and its own
    open slots (slot -> the peer's node id)."""

    node_id: str
    is_master: bool
    owners: dict[str, tuple[int, frozenset[int]]]
    migrating: dict[int, str]
    importing: dict[int, str]


def slot_state(text: str) -> SlotState:
    """``CLUSTER NODES`` text as a ``SlotState`` (open slots are listed on its own line only:
    ``[slot->-id]`` migrating, ``[slot-<-id]`` importing)."""
    owners: dict[str, tuple[int, frozenset[int]]] = {}
    migrating: dict[int, str] = {}
    importing: dict[int, str] = {}
    node_id, is_master = "", False
    for line in text.strip().splitlines():
        parts = line.split()
        slots: set[int] = set()
        for item in parts[8:]:
            if item.startswith("["):
                slot, arrow, peer = item[1:-1].partition("->-")
                if arrow:
                    migrating[int(slot)] = peer
                else:
                    slot, _, peer = item[1:-1].partition("-<-")
                    importing[int(slot)] = peer
                continue
            first, _, last = item.partition("-")
            slots.update(range(int(first), int(last or first) + 1))
        owners[parts[0]] = (int(parts[6]), frozenset(slots))
        if "myself" in parts[2]:
            node_id, is_master = parts[0], "master" in parts[2]
    return SlotState(node_id, is_master, owners, migrating, importing)


def claimed_owners(states: Sequence[SlotState]) -> dict[int, str]:
    """slot -> the node whose claim wins across ``states``: the highest config epoch."""
    best: dict[int, tuple[int, str]] = {}
    for state in states:
        for node_id, (epoch, slots) in state.owners.items():
            for slot in slots:
                if slot not in best or (epoch, node_id) > best[slot]:
                    best[slot] = (epoch, node_id)
    return {slot: node_id for slot, (_, node_id) in best.items()}


def troubled_slots(states: Sequence[SlotState]) -> set[int]:
    """Slots some node has open (MIGRATING/IMPORTING) or whose owner the nodes disagree on."""
    troubled: set[int] = set()
    seen: dict[int, str] = {}
    for state in states:
        troubled |= set(state.migrating) | set(state.importing)
        for node_id, (_, slots) in state.owners.items():
            for slot in slots:
                if seen.setdefault(slot, node_id) != node_id:
                    troubled.add(slot)
    for state in states:  # a slot some node names no owner for, while another does
        named = {slot for _, slots in state.owners.values() for slot in slots}
        troubled |= set(seen) - named
    return troubled


def views_of_slot(states: Mapping[str, SlotState], slot: int) -> str:
    """What each node (``states``: node name -> its view) says of ``slot``, naming nodes by
    name where their id is known: ``a: owner b (epoch 3), migrating to c; b: …``. For an
    error saying how nodes disagree. Never raises."""
    name_of = {state.node_id: name for name, state in states.items()}
    views = []
    for name, state in sorted(states.items()):
        owners = [(epoch, node_id) for node_id, (epoch, slots) in state.owners.items() if slot in slots]
        said = ", ".join(f"owner {name_of.get(node_id, node_id)} (epoch {epoch})" for epoch, node_id in owners)
        if slot in state.migrating:
            said += f", migrating to {name_of.get(state.migrating[slot], state.migrating[slot])}"
        if slot in state.importing:
            said += f", importing from {name_of.get(state.importing[slot], state.importing[slot])}"
        views.append(f"{name}: {said.lstrip(', ') or 'no owner'}")
    return "; ".join(views)


def open_slots(text: str) -> tuple[int, ...]:
    """The slots the node that wrote ``text`` (``CLUSTER NODES``) has MIGRATING or IMPORTING."""
    found: set[int] = set()
    for line in text.splitlines():
        parts = line.split(" ", 8)
        if len(parts) == 9 and "myself" in parts[2] and "[" in parts[8]:
            found |= {int(item[1:].split("-", 1)[0]) for item in parts[8].split() if item.startswith("[")}
    return tuple(sorted(found))


def owners_digest(text: str) -> str:
    """A short digest of who owns which slot in ``text``'s view (``CLUSTER NODES``): equal on
    two nodes exactly when they name the same owner for every slot. A node writes its ranges
    from its slot bitmap, so the same ownership always reads the same."""
    lines = []
    for line in text.splitlines():
        parts = line.split(" ", 8)
        if len(parts) == 9:
            ranges = " ".join(item for item in parts[8].split() if not item.startswith("["))
            if ranges:
                lines.append(f"{parts[0]} {ranges}")
    return hashlib.blake2b("\n".join(sorted(lines)).encode(), digest_size=8).hexdigest()
