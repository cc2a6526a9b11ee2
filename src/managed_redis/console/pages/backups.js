// A cluster's backups tab: its backups, newest first, refreshed every few seconds; "Back up
// now" for users who may change the cluster; and, for users who may restore (an editor, or a
// restorer who may change nothing else: rights.js canRestore), a small form that restores a
// backup into a new cluster, the API's messages shown beside the fields they concern.

import { canRestore } from "../rights.js";
import { changeButton, clusterPath, counted, field, h, live, runOperation, statusLine, table, valueOf, when } from "./cluster_kit.js";

const REFRESH_MS = 4000;
const ZONES = ["ru-central1-a", "ru-central1-b", "ru-central1-d"];

export async function render(root, ctx) {
  const status = statusLine();
  const list = h("div");
  const restoreSlot = h("div");
  const refresh = async () => {
    const backups = await ctx.api.list(`${clusterPath(ctx)}/backups`, "backups");
    backups.sort((a, b) => String(b.createdAt).localeCompare(String(a.createdAt)));
    const restorer = await mayRestore(ctx, backups[0]);
    list.replaceChildren(backupTable(ctx, backups, restorer, (backup) => restoreSlot.replaceChildren(restoreForm(ctx, backup, restoreSlot))));
  };
  const now = changeButton(ctx, "Back up now", () =>
    runOperation(ctx, () => ctx.api.post(`${clusterPath(ctx)}:backup`, {}), status, { done: refresh }));
  root.append(h("h2", {}, "Backups"), h("div", { class: "actions" }, now), status, list, restoreSlot);
  await live(ctx, REFRESH_MS, refresh);
}

// Whether to offer Restore: an editor may; otherwise asked of the API with a listed backup.
async function mayRestore(ctx, backup) {
  if (ctx.canChange) return true;
  if (!backup) return false;
  return canRestore(ctx.api, ctx.cluster.folderId, backup, ctx.cluster.sharded).catch(() => false);
}

function backupTable(ctx, backups, restorer, pick) {
  const columns = [
    { title: "Backup", cell: (backup) => h("code", {}, backup.id) },
    { title: "Type", cell: (backup) => backup.type || "" },
    { title: "Started", cell: (backup) => when(backup.startedAt) },
    { title: "Completed", cell: (backup) => when(backup.createdAt) },
    { title: "Shards", cell: (backup) => (backup.sourceShardNames || []).join(", ") },
    restorer ? {
      title: "Actions",
      cell: (backup) => h("button", { type: "button", class: "secondary small", onclick: () => pick(backup), "aria-label": `Restore ${backup.id}` }, "Restore…"),
    } : null,
  ].filter(Boolean);
  return table(counted(backups.length, "backup"), columns, backups, "No backups yet.");
}

// The restore form of one backup, filled from the source cluster: a new name, environment,
// host class and password, and its hosts (one per shard of a sharded backup).
function restoreForm(ctx, backup, slot) {
  const cluster = ctx.cluster;
  const status = statusLine();
  const shards = backup.sourceShardNames || [];
  const form = h("form", { class: "form card", "aria-labelledby": "restore-title", novalidate: true },
    h("h3", { id: "restore-title" }, `Restore ${backup.id} into a new cluster`),
    h("div", { class: "row" },
      field("Name", "name", { value: `${cluster.name}-restored`.slice(0, 63), required: true }),
      field("Environment", "environment", { options: ["PRODUCTION", "PRESTABLE"], value: cluster.environment || "PRODUCTION" })),
    h("div", { class: "row" },
      field("Host class", "configSpec.resources.resourcePresetId", { value: cluster.config?.resources?.resourcePresetId || "" }),
      field("Password", "configSpec.redis.password", { type: "password", autocomplete: "new-password" }),
      cluster.sharded ? null : field("Hosts", "hostSpecs", { type: "number", min: 1, max: 7, value: "1" })),
    h("div", { class: "actions" },
      h("button", { type: "submit" }, "Restore"),
      h("button", { type: "button", class: "secondary", onclick: () => slot.replaceChildren() }, "Cancel")),
    status);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const count = Number(valueOf(form, "hostSpecs")) || 0;
    const hostSpecs = cluster.sharded
      ? shards.map((shardName, i) => ({ zoneId: ZONES[i % ZONES.length], shardName }))
      : Array.from({ length: count }, (_, i) => ({ zoneId: ZONES[i % ZONES.length] }));
    const body = {
      backupId: backup.id,
      folderId: cluster.folderId,
      name: valueOf(form, "name"),
      environment: valueOf(form, "environment"),
      sharded: Boolean(cluster.sharded),
      configSpec: {
        resources: { resourcePresetId: valueOf(form, "configSpec.resources.resourcePresetId") },
        redis: { password: valueOf(form, "configSpec.redis.password") },
      },
      hostSpecs,
    };
    runOperation(ctx, () => ctx.api.post("/managed-redis/v1/clusters:restore", body), status, {
      form,
      done: (operation) => {
        const id = operation.response?.id || operation.metadata?.clusterId;
        status.replaceChildren("Restored into ", h("a", { href: `#/clusters/${encodeURIComponent(id)}/hosts` }, body.name), ".");
      },
    });
  });
  return form;
}
