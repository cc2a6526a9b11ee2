// A cluster's maintenance tab: its planned maintenance (Cluster.plannedOperation and the
// MaintenanceService's records of the cluster) with RescheduleMaintenance, and its change
// freezes (list, the yearly limits, create, terminate) for users who may change the cluster.

import { changeButton, clusterPath, field, h, runOperation, statusLine, table, valueOf, when } from "./cluster_kit.js";

const CLUSTER_TYPE = "managed-redis.cluster";

export async function render(root, ctx) {
  const planned = h("div");
  const freezes = h("div");
  root.append(h("h2", {}, "Maintenance"), planned, h("h2", {}, "Change freezes"), freezes);
  const refresh = async () => {
    planned.replaceChildren(await plannedPart(ctx, refresh));
    freezes.replaceChildren(await freezePart(ctx, refresh));
  };
  await refresh();
}

async function plannedPart(ctx, refresh) {
  const [cluster, listed] = await Promise.all([
    ctx.api.get(clusterPath(ctx)),
    ctx.api.get("/managed-redis/v1/maintenances", { resourceId: ctx.params.id, orderBy: "created_at desc" }),
  ]);
  const operation = cluster.plannedOperation;
  const part = h("div", {},
    operation
      ? h("p", {}, `Planned: ${operation.info || "maintenance"}, not before ${when(operation.delayedUntil)}.`)
      : h("p", {}, "No maintenance is planned."),
    table("Maintenances of this cluster", [
      { title: "Description", cell: (m) => m.description || "" },
      { title: "Status", cell: (m) => m.status || "" },
      { title: "Scheduled", cell: (m) => when(m.startScheduledAt) },
      { title: "Latest start", cell: (m) => when(m.maxStartScheduledAt) },
      { title: "Ended", cell: (m) => when(m.succeededAt || m.cancelledAt) },
    ], listed.maintenances || [], "No maintenances."));
  if (ctx.canChange && operation) part.append(rescheduleForm(ctx, refresh));
  return part;
}

function rescheduleForm(ctx, refresh) {
  const status = statusLine();
  const form = h("form", { class: "card", "aria-labelledby": "reschedule-title", novalidate: true },
    h("h3", { id: "reschedule-title" }, "Reschedule"),
    h("div", { class: "row" }, field("When", "rescheduleType", { options: [["NEXT_AVAILABLE_WINDOW", "Next available window"], ["IMMEDIATE", "Now"], ["SPECIFIC_TIME", "At a time"]] }),
    field("Time (for “At a time”)", "delayedUntil", { type: "datetime-local" })),
    h("div", { class: "actions" }, h("button", { type: "submit" }, "Reschedule")), status);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const body = { rescheduleType: valueOf(form, "rescheduleType") };
    const at = valueOf(form, "delayedUntil");
    if (body.rescheduleType === "SPECIFIC_TIME" && at) body.delayedUntil = new Date(at).toISOString();
    runOperation(ctx, () => ctx.api.post(`${clusterPath(ctx)}:rescheduleMaintenance`, body), status, { form, done: refresh });
  });
  return form;
}

async function freezePart(ctx, refresh) {
  const [listed, limits] = await Promise.all([
    ctx.api.get("/managed-redis/v1/changeFreezes", { "resourcePath.id": ctx.params.id, "resourcePath.type": CLUSTER_TYPE }),
    ctx.api.get("/managed-redis/v1/changeFreezeLimits", { resourceId: ctx.params.id }),
  ]);
  const status = statusLine();
  const hours = (seconds) => `${(Number(seconds || 0) / 3600).toFixed(1)} h`;
  const columns = [
    { title: "Start", cell: (f) => when(f.startAt) },
    { title: "End", cell: (f) => when(f.endAt) },
    { title: "Status", cell: (f) => f.status || "" },
    { title: "Reason", cell: (f) => f.reason || "" },
    ctx.canChange ? { title: "Actions", cell: (f) => terminateButton(ctx, f, status, refresh) } : null,
  ].filter(Boolean);
  const part = h("div", {},
    h("p", {}, `Used this year ${hours(limits.usedSecondsThisYear)}, left ${hours(limits.remainingSecondsThisYear)}; a freeze lasts at most ${hours(limits.constraints?.maxPeriodSeconds)}.`),
    status,
    table("Change freezes", columns, listed.changeFreezes || [], "No change freezes."));
  if (ctx.canChange) part.append(freezeForm(ctx, refresh));
  return part;
}

function terminateButton(ctx, freeze, status, refresh) {
  if (!["SCHEDULED", "ACTIVE"].includes(freeze.status)) return "";
  return changeButton(ctx, "Terminate", () => runOperation(ctx,
    () => ctx.api.post(`/managed-redis/v1/changeFreezes/${encodeURIComponent(freeze.id)}:terminate`, {}), status, { done: refresh }),
  { class: "secondary small" });
}

function freezeForm(ctx, refresh) {
  const status = statusLine();
  const form = h("form", { class: "card", "aria-labelledby": "freeze-title", novalidate: true },
    h("h3", { id: "freeze-title" }, "Create a change freeze"),
    h("div", { class: "row" },
      field("Start", "startAt", { type: "datetime-local", required: true }),
      field("End", "endAt", { type: "datetime-local", required: true }),
      field("Reason", "reason", { maxlength: 256 })),
    h("div", { class: "actions" }, h("button", { type: "submit" }, "Create freeze")), status);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const time = (name) => (valueOf(form, name) ? new Date(valueOf(form, name)).toISOString() : "");
    const body = { resourceId: ctx.params.id, startAt: time("startAt"), endAt: time("endAt"), reason: valueOf(form, "reason") };
    runOperation(ctx, () => ctx.api.post("/managed-redis/v1/changeFreezes", body), status, { form, done: refresh });
  });
  return form;
}
