// How many of the 16384 hash slots each shard of a sharded cluster holds. The API's Shard has
// no slots (name, clusterId, isHa: api.md §3.4), so the count is worked out from the cluster's
// operations by the API's documented rules (api.md §5):
//   - a sharded cluster is made (Create, Restore, EnableSharding) with every slot spread
//     evenly over its shards;
//   - AddShard: the new shard holds no slots until a Rebalance (at once when the cluster's
//     Redis config asks for rebalanceEnabled);
//   - Rebalance: every shard an even share; DeleteShard: the shard's slots spread evenly over
//     the others (the server moves them before the shard goes).
// So a shard added (or being added) since the last Rebalance or DeleteShard holds none, and
// every other shard an even share: 16384 / n, or one more. Ranges are not shown: after a
// rebalance they are scattered, and nothing the API offers says where. A slot holding a key
// too large to move stays where it is, so a share can be off by those few slots.

export const SLOTS = 16384;
const TYPE = "type.googleapis.com/yandex.cloud.mdb.redis.v1.";
const ADD_SHARD = `${TYPE}AddClusterShardMetadata`;
const SPREADS = new Set([`${TYPE}RebalanceClusterMetadata`, `${TYPE}DeleteClusterShardMetadata`]);

/** shards: [Shard JSON]; operations: the cluster's [Operation JSON] (any order);
 * autoRebalance: the cluster's config.redis.rebalanceEnabled. Returns a Map of shard name ->
 * {slots: "8192" | "5461 or 5462" | "0", waiting: true when the shard awaits a Rebalance}. */
export function slotShares(shards, operations, autoRebalance = false) {
  const waiting = new Set();
  const ordered = [...operations].sort((a, b) => String(a.createdAt).localeCompare(String(b.createdAt)));
  for (const operation of ordered) {
    if (operation.error) continue;
    const type = operation.metadata?.["@type"];
    if (type === ADD_SHARD && !(autoRebalance && operation.done)) waiting.add(operation.metadata.shardName);
    else if (type === ADD_SHARD || (SPREADS.has(type) && operation.done)) waiting.clear();
  }
  const holders = shards.filter((shard) => !waiting.has(shard.name)).length;
  const base = holders ? Math.floor(SLOTS / holders) : 0;
  const share = holders && SLOTS % holders ? `${base} or ${base + 1}` : String(base);
  return new Map(shards.map((shard) => [shard.name, waiting.has(shard.name) ? { slots: "0", waiting: true } : { slots: share, waiting: false }]));
}
