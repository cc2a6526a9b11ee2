// A cluster's operations, newest first, refreshed every second: running ones with the time
// they have run so far, the step they run and the steps they have done (as this server says
// beside the API: operations.js stepsOf).

import { badge, errorBox, h, when } from "../ui.js";
import { operationState, stepsOf } from "../operations.js";

const REFRESH_MS = 1000;

export async function render(root, ctx) {
  const list = h("div", { "aria-live": "polite" });
  root.append(h("h2", {}, "Operations"), list);
  const path = `/managed-redis/v1/clusters/${encodeURIComponent(ctx.cluster.id)}/operations`;
  const load = async () => {
    try {
      const operations = await ctx.api.list(path, "operations");
      operations.sort((a, b) => String(b.createdAt).localeCompare(String(a.createdAt)));
      const running = operations.filter((op) => !op.done);
      const steps = new Map(await Promise.all(running.map(async (op) => [op.id, await stepsOf(ctx.api, op.id)])));
      list.replaceChildren(operationTable(operations, steps));
    } catch (error) {
      list.replaceChildren(errorBox(error));
    }
  };
  await load();
  ctx.every(REFRESH_MS, load);
}

function operationTable(operations, steps) {
  if (!operations.length) return h("p", { className: "card" }, "No operations yet.");
  return h(
    "table",
    { "aria-label": "Operations" },
    h("thead", {}, h("tr", {}, ["Operation", "State", "Started", "Last change", "By", "Result"].map((t) => h("th", { scope: "col" }, t)))),
    h(
      "tbody",
      {},
      operations.map((op) =>
        h(
          "tr",
          { "data-operation-id": op.id },
          h("td", {}, op.description || "", h("div", { className: "muted" }, op.id)),
          h(
            "td",
            {},
            badge(operationState(op)),
            op.done ? null : h("div", { className: "muted" }, elapsed(op.createdAt)),
            op.done ? null : stepList(steps.get(op.id)),
          ),
          h("td", {}, when(op.createdAt)),
          h("td", {}, when(op.modifiedAt)),
          h("td", {}, op.createdBy || ""),
          h("td", {}, op.error ? h("span", { className: "field-error" }, op.error.message) : op.done ? "ok" : ""),
        ),
      ),
    ),
  );
}

function elapsed(since) {
  const seconds = Math.max(0, Math.round((Date.now() - new Date(since).getTime()) / 1000));
  return `running for ${seconds} s`;
}

/** A running operation's steps: those done, then the one it runs (marked); null if unknown. */
function stepList(steps) {
  if (!steps) return null;
  const items = (steps.stepsDone || []).map((name) => h("li", { className: "muted" }, `${name}: done`));
  if (steps.currentStep) items.push(h("li", { "aria-current": "step" }, `${steps.currentStep}: running`));
  return items.length ? h("ol", { className: "steps", "aria-label": "Steps" }, items) : null;
}
