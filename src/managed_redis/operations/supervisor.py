"""The supervisor: every second, each RUNNING cluster's processes are checked and healed.

For a cluster with no operation running on it:

- a dead replica is restarted as a replica of today's master (its config says so first);
- a dead master is replaced by Sentinel, which promotes a replica; once it has, the old
  master is restarted as a replica. Restarting it as a master instead would bring it back
  empty (persistence OFF) or stale, and its replicas would copy that. Sentinel alone waits
  ``down-after`` before it believes a master is gone, since it cannot tell a dead process
  from a slow network; the supervisor can (the pid is gone), so it asks Sentinel to fail
  over at once (``SENTINEL FAILOVER``) and asks again if nothing happened after a while.
  Only a cluster with no live replica restarts its master in place;
- a dead Sentinel is restarted from its own config (it keeps its memory of epochs);
- when every process is gone (the machine rebooted), the master the Sentinels last wrote
  down starts first, then its replicas, then the Sentinels;
- the master Sentinel names is recorded, so the next cold start begins with it;
- with persistence ON_REPLICAS, each host's AOF follows its role after a failover.
"""

from __future__ import annotations

import logging
import time

import redis
from sqlalchemy.engine import Connection

from managed_redis.domain.topology import DEFAULT_SHARD
from managed_redis.engine.conf import master_in_sentinel_conf
from managed_redis.operations import sharding, steps
from managed_redis.operations.deps import Deps
from managed_redis.operations.health import HostState, probe_cluster
from managed_redis.operations.periodic import PeriodicTask
from managed_redis.operations.plans import ClusterPlan, PersistenceMode
from managed_redis.store import clusters as cluster_store
from managed_redis.store import operations as op_store
from managed_redis.store.clusters import ClusterRecord, HostRecord
from managed_redis.store.database import Database

log = logging.getLogger(__name__)

# Operations that leave processes alone, so the supervisor keeps healing while they run.
HEAL_DURING = frozenset({"cluster.backup", "cluster.backup.automated", "cluster.set_access_bindings"})


class Supervisor(PeriodicTask):
    name = "supervisor"

    def __init__(self, db: Database, deps: Deps, period_s: float = 1.0) -> None:
        super().__init__(period_s)
        self.db = db
        self.deps = deps
        # cluster id -> monotonic time a failover was last asked for
        self._failover_asked: dict[str, float] = {}

    @property
    def failover_retry_s(self) -> float:
        return self.deps.settings.sentinel_down_after_s * 2 + 5

    def run_once(self) -> None:
        with self.db.read() as conn:
            records = [c for c in cluster_store.list_all(conn) if c.status == "RUNNING" and self._may_heal(conn, c)]
        for record in records:
            try:
                plan = ClusterPlan.load(self.db, self.deps, record.id)
                if plan.record.sharded:
                    self.heal_sharded(plan)
                else:
                    self.heal(plan)
            except LookupError:
                continue  # deleted meanwhile
            except Exception:
                log.exception("supervisor: cannot check cluster %s", record.id)

    @staticmethod
    def _may_heal(conn: Connection, record: ClusterRecord) -> bool:
        """Operations that change the topology handle their own processes; a backup does not."""
        if not record.active_operation_id:
            return True
        running = op_store.get(conn, record.active_operation_id)
        return running is None or running.kind in HEAL_DURING

    def heal(self, plan: ClusterPlan) -> None:
        states = probe_cluster(plan)
        if not any(state.redis_alive for state in states.values()):
            self._cold_start(plan)
            return
        master = self._master(plan, states)
        if master.name != plan.shard_master(DEFAULT_SHARD).name:
            steps.record_master(self.db, plan, master.shard_name, master.name)
        engine = plan.deps.engine
        for host in plan.hosts:
            state = states[host.name]
            if not state.redis_alive:
                self._restart_redis(plan, host, master, states)
            if state.sentinel_alive is False:
                log.info("supervisor: restarting the sentinel on %s", host.name)
                engine.ensure_sentinel(plan.sentinel(host, master))
        if states[master.name].redis_alive:
            self._failover_asked.pop(plan.record.id, None)
        if plan.declared.persistence_mode == PersistenceMode.ON_REPLICAS:
            self._persistence_follows_role(plan, states)

    def _persistence_follows_role(self, plan: ClusterPlan, states: dict[str, HostState]) -> None:
        engine = plan.deps.engine
        for host in plan.hosts:
            state = states[host.name]
            if not state.redis_alive or state.role is None:
                continue
            wanted = "yes" if state.role == "replica" else "no"
            node = plan.node(host, None)
            if engine.admin(node).config_get("appendonly").get("appendonly") != wanted:
                log.info("supervisor: %s is a %s now; appendonly %s", host.name, state.role, wanted)
                engine.admin(node).config_set("appendonly", wanted)

    def _master(self, plan: ClusterPlan, states: dict[str, HostState]) -> HostRecord:
        """Who the Sentinels name, else the live host that says it is master, else the record."""
        if any(state.sentinel_alive for state in states.values()):
            return steps.current_master(plan)
        for host in plan.hosts:
            if states[host.name].role == "master":
                return host
        return plan.shard_master(DEFAULT_SHARD)

    def _restart_redis(
        self, plan: ClusterPlan, host: HostRecord, master: HostRecord, states: dict[str, HostState]
    ) -> None:
        engine = plan.deps.engine
        if host.name != master.name:
            log.info("supervisor: restarting %s as a replica of %s", host.name, master.name)
            engine.ensure_node(plan.node(host, master))
            return
        live_replicas = [h for h in plan.hosts if h.name != host.name and states[h.name].redis_alive]
        if not live_replicas:
            log.info("supervisor: restarting %s, the only master there can be", host.name)
            engine.ensure_node(plan.node(host, None))
            return
        asked = self._failover_asked.get(plan.record.id)
        if asked is not None and time.monotonic() - asked < self.failover_retry_s:
            return
        log.warning("supervisor: master %s is dead; asking Sentinel to fail over now", host.name)
        self._failover_asked[plan.record.id] = time.monotonic()
        for candidate in plan.hosts:
            try:
                engine.sentinel_admin(plan.sentinel(candidate, master)).execute_command(
                    "SENTINEL", "FAILOVER", plan.record.name
                )
                return
            except redis.RedisError as exc:
                log.info("supervisor: sentinel on %s did not take the failover: %s", candidate.name, exc)

    def heal_sharded(self, plan: ClusterPlan) -> None:
        """Redis Cluster fails over by itself (cluster-node-timeout); the supervisor only
        hurries it for a master whose process is gone, and restarts dead nodes, each from its
        nodes.conf, once no slot waits on them."""
        states = probe_cluster(plan)
        engine = plan.deps.engine
        masters = {shard.name: plan.shard_master(shard.name) for shard in plan.shards}
        if not any(state.redis_alive for state in states.values()):
            log.info("supervisor: every node of cluster %s is gone; starting them again", plan.record.id)
            sharding.start_nodes(plan, plan.hosts, masters)
            return
        live = [host for host in plan.hosts if states[host.name].redis_alive]
        view = {node.address: node for node in sharding.ops(plan).view(plan.node(live[0], None))}
        for host in plan.hosts:
            if states[host.name].redis_alive:
                if states[host.name].role == "master" and masters[host.shard_name].name != host.name:
                    steps.record_master(self.db, plan, host.shard_name, host.name)
                continue
            known = view.get(host.address)
            if known is not None and known.is_master and known.slots:
                self._hurry_cluster_failover(plan, host, states)
                continue
            log.info("supervisor: restarting cluster node %s", host.name)
            engine.ensure_node(plan.node(host, None))

    def _hurry_cluster_failover(self, plan: ClusterPlan, dead: HostRecord, states: dict[str, HostState]) -> None:
        replicas = [h for h in plan.shard_hosts(dead.shard_name) if h.name != dead.name and states[h.name].redis_alive]
        key = f"{plan.record.id}/{dead.shard_name}"
        asked = self._failover_asked.get(key)
        if not replicas:
            log.info("supervisor: restarting %s, the only node its shard has", dead.name)
            plan.deps.engine.ensure_node(plan.node(dead, None))
            return
        if asked is not None and time.monotonic() - asked < self.failover_retry_s:
            return
        self._failover_asked[key] = time.monotonic()
        log.warning("supervisor: master %s is dead; a replica takes over now", dead.name)
        try:
            plan.deps.engine.admin(plan.node(replicas[0], dead)).execute_command("CLUSTER", "FAILOVER", "FORCE")
        except redis.RedisError as exc:
            log.info("supervisor: %s did not take over: %s", replicas[0].name, exc)

    def _cold_start(self, plan: ClusterPlan) -> None:
        by_address = {host.address: host for host in plan.hosts}
        votes: dict[str, int] = {}
        for host in plan.hosts:
            address = master_in_sentinel_conf(plan.sentinel(host, host).conf_file, plan.record.name)
            if address in by_address:
                votes[address] = votes.get(address, 0) + 1
        master = by_address[max(votes, key=lambda a: votes[a])] if votes else plan.shard_master(DEFAULT_SHARD)
        log.info("supervisor: every process of cluster %s is gone; starting from %s", plan.record.id, master.name)
        steps.start_shard(plan, master.shard_name, master)
        steps.record_master(self.db, plan, master.shard_name, master.name)
        steps.start_sentinels(plan, master, fresh_config=False)
