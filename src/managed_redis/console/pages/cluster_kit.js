// The parts the cluster tab pages (hosts, shards, backups, users, logs, monitoring,
// maintenance) share on top of the frame's ui.js / operations.js: tables, labelled inputs
// that API field violations can be shown beside, buttons that start an operation and follow
// it on a status line, live refreshes, and raw fetches (logs stream, metrics text).

import { waitOperation } from "../operations.js";
import { h } from "../ui.js";

export { h, when } from "../ui.js";

// The tab pages' own few styles (charts, log lines), loaded once beside console.css.
if (!document.querySelector('link[data-cluster-pages]')) {
  document.head.append(h("link", { rel: "stylesheet", href: "pages/cluster_pages.css", "data-cluster-pages": true }));
}

// The cluster's API path, e.g. /managed-redis/v1/clusters/c9q….
export function clusterPath(ctx) {
  return `/managed-redis/v1/clusters/${encodeURIComponent(ctx.params.id)}`;
}

// The cluster's effective Redis settings (RedisConfig JSON): ClusterConfig has them under
// `redis` or, for older versions, under the version's own field (`redisConfig_7_0`…).
export function redisConfig(cluster) {
  const config = cluster.config || {};
  const set = config.redis || Object.entries(config).find(([key]) => key.startsWith("redisConfig"))?.[1] || {};
  return set.effectiveConfig || {};
}

// "1 host", "3 hosts": a count and its noun (a plain English one, plural with an s).
export function counted(count, noun) {
  return `${count} ${noun}${count === 1 ? "" : "s"}`;
}

// A table with a caption: columns [{title, cell(row) -> Node|string}], one row per item;
// `empty` is said in one cell when there are no rows.
export function table(caption, columns, rows, empty = "None yet.") {
  const head = h("tr", {}, columns.map((column) => h("th", { scope: "col" }, column.title)));
  const body = rows.length
    ? rows.map((row) => h("tr", {}, columns.map((column) => h("td", {}, column.cell(row)))))
    : [h("tr", {}, h("td", { colspan: columns.length, class: "muted" }, empty))];
  return h("table", {}, h("caption", {}, caption), h("thead", {}, head), h("tbody", {}, body));
}

// A status line for operations and errors (role=status: read out as it changes).
export function statusLine() {
  return h("p", { class: "status-line", role: "status", "aria-live": "polite" });
}

// A labelled input (a select when attrs.options is given: [value] or [[value, text]]), named
// by the API field path it fills (data-field), so a violation of that path shows beside it.
let fields = 0;
export function field(label, apiField, attrs = {}) {
  const id = `f-${apiField.replace(/[^a-zA-Z0-9]/g, "-")}-${++fields}`;
  const { options, ...rest } = attrs;
  const input = h(options ? "select" : "input", { id, name: apiField, "data-field": apiField, ...rest });
  for (const option of options || []) {
    const [value, text] = Array.isArray(option) ? option : [option, option];
    input.append(h("option", { value }, text));
  }
  if (attrs.value !== undefined) {
    input.value = attrs.value;
    // What the form's reset() puts back (the value property alone is forgotten).
    if (options) [...input.options].forEach((option) => (option.defaultSelected = option.value === attrs.value));
    else input.defaultValue = attrs.value;
  }
  return h("div", { class: "field" }, h("label", { for: id }, label), input);
}

// The value of the input for an API field path in `form` (a checkbox: whether it is checked).
export function valueOf(form, apiField) {
  const input = form.querySelector(`[data-field="${apiField}"]`);
  if (!input) return "";
  return input.type === "checkbox" ? input.checked : input.value.trim();
}

// A button offered only to users who may change the cluster (null otherwise), so a viewer
// sees no change controls; onclick(event) runs when pressed.
export function changeButton(ctx, text, onclick, attrs = {}) {
  if (!ctx.canChange) return null;
  return h("button", { type: "button", class: "small", onclick, ...attrs }, text);
}

// Sends `send()` (a call answering an Operation), follows it on `status` (the frame's
// waitOperation), then awaits `done(operation)`. The error of the call or of the operation is
// said on `status`, and each of its field violations beside its field in `form`.
export async function runOperation(ctx, send, status, { form = null, done = null } = {}) {
  clearFieldErrors(form);
  status.textContent = "";
  delete status.dataset.state;
  try {
    const operation = await waitOperation(ctx.api, await send(), status, { signal: ctx.signal });
    if (done) await done(operation);
    return operation;
  } catch (error) {
    if (error?.name === "AbortError") return null;
    status.dataset.state = "failed";
    status.textContent = error?.message || String(error);
    showFieldErrors(error, form);
    return null;
  }
}

function showFieldErrors(error, form) {
  for (const violation of error?.fieldViolations || []) {
    const input = form && findField(form, camel(violation.field || ""));
    if (!input) continue;
    const note = h("p", { class: "field-error", id: `${input.id}-error` }, violation.description);
    input.setAttribute("aria-invalid", "true");
    input.setAttribute("aria-describedby", note.id);
    input.insertAdjacentElement("afterend", note);
  }
}

// A field path as the inputs name it: lowerCamelCase parts, list indexes dropped
// (user_spec.passwords[0] -> userSpec.passwords).
function camel(path) {
  return path.replace(/\[\d+\]/g, "").replace(/_([a-z0-9])/g, (_, c) => c.toUpperCase());
}

// The input of `form` for a field path: the exact data-field, else the longest one the path
// starts with (a violation of userSpec.permissions.commands.2 lands on that field's input).
function findField(form, path) {
  const inputs = [...form.querySelectorAll("[data-field]")];
  const exact = inputs.find((input) => input.dataset.field === path);
  if (exact) return exact;
  const prefixed = inputs.filter((input) => path.startsWith(`${input.dataset.field}.`));
  prefixed.sort((a, b) => b.dataset.field.length - a.dataset.field.length);
  return prefixed[0] || null;
}

export function clearFieldErrors(form) {
  if (!form) return;
  form.querySelectorAll(".field-error").forEach((note) => note.remove());
  form.querySelectorAll("[aria-invalid]").forEach((input) => {
    input.removeAttribute("aria-invalid");
    input.removeAttribute("aria-describedby");
  });
}

// Runs `fn` now and then every `ms` until the user leaves the page (the frame's ctx.every);
// a failed refresh is said on `status` and tried again at the next tick.
export async function live(ctx, ms, fn, status) {
  const guarded = async () => {
    try {
      await fn();
      if (status?.dataset.stale) {
        delete status.dataset.stale;
        status.textContent = "";
      }
    } catch (error) {
      if (error?.name === "AbortError" || !status || status.textContent) return;
      status.dataset.stale = "1";
      status.textContent = `Not refreshed: ${error.message}`;
    }
  };
  await guarded();
  ctx.every(ms, guarded);
}

// fetch(path) with the user's token, for answers that are not one JSON value (the logs
// stream, the metrics text); aborted when the user leaves the page. Throws an Error with the
// API's message (and `status`, its google.rpc.Status) when the answer is not 2xx.
export async function rawFetch(ctx, path, signal = ctx.signal) {
  const response = await fetch(path, { headers: { Authorization: `Bearer ${ctx.api.token}` }, signal, cache: "no-store" });
  if (response.ok) return response;
  let status;
  try {
    status = await response.json();
  } catch {
    status = { message: `HTTP ${response.status}` };
  }
  throw Object.assign(new Error(status.message || `HTTP ${response.status}`), { status });
}
