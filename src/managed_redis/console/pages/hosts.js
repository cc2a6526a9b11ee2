// A cluster's hosts tab: each host's role, zone, shard, health and replica priority, refreshed
// every few seconds; for users who may change the cluster, adding a host, deleting one,
// changing a priority and starting a failover (each an operation followed on the page).

import { badge } from "../ui.js";
import { changeButton, clusterPath, counted, field, h, live, runOperation, statusLine, table, valueOf } from "./cluster_kit.js";

const REFRESH_MS = 3000;

export async function render(root, ctx) {
  const cluster = ctx.cluster;
  const status = statusLine();
  const list = h("div", { class: "hosts-list" });
  root.append(h("h2", {}, "Hosts"), status, list);
  let shown = "";
  const refresh = async (force = false) => {
    const hosts = await ctx.api.list(`${clusterPath(ctx)}/hosts`, "hosts");
    // Drawn again only when a host changed, and not under the user's cursor (a priority being typed).
    const now = JSON.stringify(hosts);
    if (!force && (now === shown || list.contains(document.activeElement))) return;
    shown = now;
    list.replaceChildren(hostTable(ctx, hosts, status, refresh));
  };
  if (ctx.canChange) {
    const failover = cluster.sharded ? null : changeButton(ctx, "Start failover", () => {
      if (window.confirm("Switch the master over to a replica?")) {
        runOperation(ctx, () => ctx.api.post(`${clusterPath(ctx)}:startFailover`, {}), status, { done: () => refresh(true) });
      }
    }, { class: "secondary" });
    root.append(h("div", { class: "actions" }, failover), await addForm(ctx, status, refresh));
  }
  await live(ctx, REFRESH_MS, refresh);
}

function hostTable(ctx, hosts, status, refresh) {
  const sharded = ctx.cluster.sharded;
  const columns = [
    { title: "Host", cell: (host) => h("code", {}, host.name) },
    { title: "Role", cell: (host) => host.role || "ROLE_UNKNOWN" },
    { title: "Zone", cell: (host) => host.zoneId },
    sharded ? { title: "Shard", cell: (host) => host.shardName || "" } : null,
    { title: "Health", cell: (host) => badge(host.health || "UNKNOWN") },
    sharded ? null : { title: "Priority", cell: (host) => priorityCell(ctx, host, status, refresh) },
    ctx.canChange ? { title: "Actions", cell: (host) => deleteButton(ctx, host, status, refresh) } : null,
  ].filter(Boolean);
  return table(counted(hosts.length, "host"), columns, hosts);
}

function priorityCell(ctx, host, status, refresh) {
  const priority = String(host.replicaPriority ?? "100");
  if (!ctx.canChange) return priority;
  const input = h("input", { type: "number", min: 0, value: priority, "aria-label": `Priority of ${host.name}`, class: "priority" });
  const save = changeButton(ctx, "Save", () => runOperation(ctx,
    () => ctx.api.post(`${clusterPath(ctx)}/hosts:batchUpdate`, {
      updateHostSpecs: [{ hostName: host.name, replicaPriority: input.value, updateMask: "replicaPriority" }],
    }),
    status, { done: () => refresh(true) }), { class: "secondary small", "aria-label": `Save the priority of ${host.name}` });
  return h("span", { class: "inline-edit" }, input, " ", save);
}

function deleteButton(ctx, host, status, refresh) {
  return changeButton(ctx, "Delete", () => {
    if (!window.confirm(`Delete host ${host.name}?`)) return;
    runOperation(ctx, () => ctx.api.post(`${clusterPath(ctx)}/hosts:batchDelete`, { hostNames: [host.name] }), status, { done: () => refresh(true) });
  }, { class: "danger small", "aria-label": `Delete ${host.name}` });
}

async function addForm(ctx, status, refresh) {
  const sharded = ctx.cluster.sharded;
  const zones = await presetZones(ctx);
  const form = h("form", { class: "card", "aria-labelledby": "add-host-title", novalidate: true },
    h("h3", { id: "add-host-title" }, "Add a host"),
    h("div", { class: "row" },
      field("Zone", "hostSpecs.zoneId", { options: zones }),
      sharded ? field("Shard", "hostSpecs.shardName", { required: true }) : null,
      sharded ? null : field("Priority", "hostSpecs.replicaPriority", { type: "number", min: 0, value: "100" })),
    h("div", { class: "actions" }, h("button", { type: "submit" }, "Add host")));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const spec = { zoneId: valueOf(form, "hostSpecs.zoneId") };
    if (sharded) spec.shardName = valueOf(form, "hostSpecs.shardName");
    else spec.replicaPriority = valueOf(form, "hostSpecs.replicaPriority");
    runOperation(ctx, () => ctx.api.post(`${clusterPath(ctx)}/hosts:batchCreate`, { hostSpecs: [spec] }), status, { form, done: () => refresh(true) });
  });
  return form;
}

// The zones the cluster's host class is offered in (ResourcePresetService.Get).
async function presetZones(ctx) {
  const preset = ctx.cluster.config?.resources?.resourcePresetId;
  const found = await ctx.api.get(`/managed-redis/v1/resourcePresets/${encodeURIComponent(preset)}`);
  return found.zoneIds || [];
}
