// A sharded cluster's shards tab: each shard, how many hash slots it holds, whether it is highly
// available and its hosts with their roles and health, refreshed every few seconds; for users
// who may change the cluster, adding a shard (with its hosts), deleting one and rebalancing
// the slots. The API's Shard carries no slots (name, clusterId, isHa only): the counts follow
// from the cluster's operations by the API's rules (slot_shares.js), and ranges are not shown.

import { changeButton, clusterPath, counted, field, h, live, redisConfig, runOperation, statusLine, table, valueOf } from "./cluster_kit.js";
import { SLOTS, slotShares } from "./slot_shares.js";

const REFRESH_MS = 5000;

export async function render(root, ctx) {
  root.append(h("h2", {}, "Shards"));
  if (!ctx.cluster.sharded) {
    root.append(h("p", { class: "muted" }, "This cluster is not sharded."));
    return;
  }
  const status = statusLine();
  const list = h("div");
  const refresh = async () => {
    const [shards, hosts, operations, cluster] = await Promise.all([
      ctx.api.list(`${clusterPath(ctx)}/shards`, "shards"),
      ctx.api.list(`${clusterPath(ctx)}/hosts`, "hosts"),
      ctx.api.list(`${clusterPath(ctx)}/operations`, "operations"),
      ctx.api.get(clusterPath(ctx)),
    ]);
    const auto = Boolean(redisConfig(cluster).rebalanceEnabled);
    list.replaceChildren(shardTable(ctx, shards, hosts, slotShares(shards, operations, auto), status, refresh));
  };
  const rebalance = changeButton(ctx, "Rebalance slots", () =>
    runOperation(ctx, () => ctx.api.post(`${clusterPath(ctx)}:rebalance`, {}), status, { done: refresh }), { class: "secondary" });
  const rule = h("p", { class: "muted" },
    `The API gives no slot ranges per shard. The counts follow its rules: the ${SLOTS} hash slots are spread evenly `,
    "when the cluster is made, by Rebalance and when a shard is deleted; a shard added since holds none until a Rebalance.");
  const parts = [h("div", { class: "actions" }, rebalance), status, list, rule, ctx.canChange ? addForm(ctx, status, refresh) : null];
  root.append(...parts.filter(Boolean)); // append writes a null as the text "null"
  await live(ctx, REFRESH_MS, refresh);
}

function shardTable(ctx, shards, hosts, shares, status, refresh) {
  const hostsOf = (shard) => hosts.filter((host) => host.shardName === shard.name);
  const slotsOf = (shard) => {
    const share = shares.get(shard.name);
    return share.waiting ? h("span", { class: "warn" }, "0 (until a Rebalance)") : share.slots;
  };
  const columns = [
    { title: "Shard", cell: (shard) => shard.name },
    { title: "Slots", cell: slotsOf },
    { title: "Highly available", cell: (shard) => (shard.isHa ? "yes" : "no") },
    {
      title: "Hosts",
      cell: (shard) => h("ul", { class: "plain" }, hostsOf(shard).map((host) =>
        h("li", {}, h("code", {}, host.name), ` ${host.role || "ROLE_UNKNOWN"} · ${host.health || "HEALTH_UNKNOWN"}`))),
    },
    ctx.canChange ? { title: "Actions", cell: (shard) => deleteButton(ctx, shard, status, refresh) } : null,
  ].filter(Boolean);
  return table(counted(shards.length, "shard"), columns, shards);
}

function deleteButton(ctx, shard, status, refresh) {
  return changeButton(ctx, "Delete", () => {
    if (!window.confirm(`Delete shard ${shard.name} and its hosts?`)) return;
    runOperation(ctx, () => ctx.api.delete(`${clusterPath(ctx)}/shards/${encodeURIComponent(shard.name)}`), status, { done: refresh });
  }, { class: "danger small", "aria-label": `Delete shard ${shard.name}` });
}

// A new shard: its name, the zone of its first host, and how many replicas follow it (each in
// the next zone of the host class's zones).
function addForm(ctx, status, refresh) {
  const zones = ["ru-central1-a", "ru-central1-b", "ru-central1-d"];
  const form = h("form", { class: "card", "aria-labelledby": "add-shard-title", novalidate: true },
    h("h3", { id: "add-shard-title" }, "Add a shard"),
    h("div", { class: "row" },
      field("Shard name", "shardName", { required: true }),
      field("First host's zone", "hostSpecs.zoneId", { options: zones }),
      field("Replicas", "replicas", { type: "number", min: 0, max: 6, value: "1" })),
    h("div", { class: "actions" }, h("button", { type: "submit" }, "Add shard")));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const shardName = valueOf(form, "shardName");
    const first = zones.indexOf(valueOf(form, "hostSpecs.zoneId"));
    const count = 1 + Number(valueOf(form, "replicas") || 0);
    const hostSpecs = Array.from({ length: count }, (_, i) => ({ zoneId: zones[(first + i) % zones.length], shardName }));
    const done = async () => {
      form.reset();
      await refresh();
    };
    runOperation(ctx, () => ctx.api.post(`${clusterPath(ctx)}/shards`, { shardName, hostSpecs }), status, { form, done });
  });
  return form;
}
