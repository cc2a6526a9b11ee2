"""The supervisor's decision about a Redis Cluster's slots (part of ``decide``, see
``decisions.py``'s docstring): slots half-moved or disputed, or node timeouts left raised,
are settled, once every live node answers. A pure function of a ``ClusterView``."""

from __future__ import annotations

from managed_redis.operations.actions import Action, Do, Policy
from managed_redis.operations.views import ClusterView


def slot_actions(view: ClusterView, policy: Policy) -> list[Action]:
    """Slots half-moved or disputed, or node timeouts left raised: settle them (see the
    module docstring). One action for the whole cluster: one owner per slot is a choice
    made across its shards."""
    answering = [host for host in view.hosts if host.redis.answered and not host.redis.loading]
    if any(host.redis.alive and not host.redis.answered for host in view.hosts):
        # A node alive but silent (frozen, fenced, blocked): a failover may be under way, and
        # until it is over the views differ for a while (the new master's claim spreading by
        # gossip); settling now would race it. Settled once every live node answers.
        return []
    troubles = []
    opened = [host for host in answering if host.redis.open_slots]
    if opened:
        slots = sorted({slot for host in opened for slot in host.redis.open_slots})
        shown = ", ".join(str(slot) for slot in slots[:5]) + (f" and {len(slots) - 5} more" if len(slots) > 5 else "")
        troubles.append(
            f"slot(s) {shown} are open (MIGRATING/IMPORTING) on {', '.join(h.name for h in opened)} "
            "with no operation moving them: keys moved to their target are reachable only through ASK, "
            "or not at all if it failed over"
        )
    digests = {host.redis.owners_digest for host in answering if host.redis.owners_digest}
    if len(digests) > 1:
        troubles.append(f"the nodes name different owners for some slots ({len(digests)} different views)")
    stretched = [
        host.name
        for host in answering
        if host.redis.node_timeout_ms is not None and host.redis.node_timeout_ms != policy.cluster_node_timeout_ms
    ]
    if stretched:
        troubles.append(
            f"cluster-node-timeout is not {policy.cluster_node_timeout_ms} ms on {', '.join(stretched)} "
            "(left raised by a big key's move)"
        )
    if not troubles:
        return []
    return [
        Action(
            Do.SETTLE_SLOTS,
            "*",
            None,
            "; ".join(troubles) + ": give each such slot one owner, moving its keys forward, and set the "
            "node timeouts back",
            grace_s=policy.settle_slots_after_s,
            cooldown_s=policy.settle_slots_after_s,
        )
    ]
