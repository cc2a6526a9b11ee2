// A cluster's logs tab: the records of its hosts' Redis and Sentinel logs, filtered by service
// type, time range and the API's filter expression (ListLogs), and a live tail that reads the
// REST StreamLogs answer (one JSON array written element by element) as it arrives.

import { clusterPath, field, h, rawFetch, statusLine, valueOf } from "./cluster_kit.js";

const PAGE = 200;
const KEEP = 2000; // lines kept on the page while following

export async function render(root, ctx) {
  const status = statusLine();
  const lines = h("ol", { class: "log-lines", role: "log", "aria-label": "Log records", tabindex: 0 });
  const form = h("form", { class: "row log-filters", "aria-label": "Log filters" },
    field("Service", "serviceType", { options: [["", "Redis and Sentinel"], ["REDIS", "REDIS"], ["VALKEY_AUDIT", "VALKEY_AUDIT"]] }),
    field("From", "fromTime", { type: "datetime-local", step: 1 }),
    field("To", "toTime", { type: "datetime-local", step: 1 }),
    field("Filter", "filter", { placeholder: "message.hostname = '127.20.0.1'" }),
    h("div", { class: "actions" }, h("button", { type: "submit" }, "Show")));
  const follow = h("button", { type: "button", class: "secondary", "aria-pressed": "false" }, "Follow");
  root.append(h("h2", {}, "Logs"), form, h("div", { class: "actions" }, follow), status, lines);
  let tail = null;
  const stop = () => {
    tail?.abort();
    tail = null;
    follow.textContent = "Follow";
    follow.setAttribute("aria-pressed", "false");
  };
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    stop();
    show(ctx, form, lines, status);
  });
  follow.addEventListener("click", () => {
    if (tail) return stop();
    const mine = new AbortController();
    tail = mine;
    follow.textContent = "Stop following";
    follow.setAttribute("aria-pressed", "true");
    followLogs(ctx, form, lines, status, mine.signal).finally(() => tail === mine && stop());
  });
  ctx.onLeave(stop);
  await show(ctx, form, lines, status);
}

// The query of the filters (fromTime/toTime as RFC 3339 in UTC).
function query(form, withTo = true) {
  const params = new URLSearchParams();
  const service = valueOf(form, "serviceType");
  if (service) params.set("serviceType", service);
  const from = valueOf(form, "fromTime");
  if (from) params.set("fromTime", new Date(from).toISOString());
  const to = valueOf(form, "toTime");
  if (to && withTo) params.set("toTime", new Date(to).toISOString());
  const filter = valueOf(form, "filter");
  if (filter) params.set("filter", filter);
  return params;
}

// The newest PAGE records that match, oldest first.
async function show(ctx, form, lines, status) {
  const params = query(form);
  params.set("pageSize", String(PAGE));
  params.set("orderBy", JSON.stringify([{ field: "TIMESTAMP", order: "DESC" }]));
  delete status.dataset.state;
  status.textContent = "Loading…";
  try {
    const page = await ctx.api.get(`${clusterPath(ctx)}:logs?${params}`);
    const records = (page.logs || []).reverse();
    lines.replaceChildren(...records.map(line));
    status.textContent = `${records.length} records${records.length === PAGE ? ` (the newest ${PAGE})` : ""}.`;
    lines.scrollTop = lines.scrollHeight;
  } catch (error) {
    status.dataset.state = "failed";
    status.textContent = error.message;
  }
}

// Follows StreamLogs (no toTime: what there is, then each new line) until `signal` aborts.
async function followLogs(ctx, form, lines, status, signal) {
  const params = query(form, false);
  delete status.dataset.state;
  status.textContent = "Following the logs…";
  lines.replaceChildren();
  try {
    const response = await rawFetch(ctx, `${clusterPath(ctx)}:stream_logs?${params}`, signal);
    for await (const element of arrayElements(response.body)) {
      if (element.error) throw Object.assign(new Error(element.error.message), { status: element.error });
      lines.append(line(element.record));
      while (lines.childElementCount > KEEP) lines.firstElementChild.remove();
      lines.scrollTop = lines.scrollHeight;
    }
    status.textContent = "The stream ended.";
  } catch (error) {
    if (signal.aborted) {
      status.textContent = "Stopped following.";
      return;
    }
    status.dataset.state = "failed";
    status.textContent = error.message;
  }
}

// The elements of a JSON array written one element a line (`[` first, `,` before each next
// element, `]` at the end), each parsed as soon as its line is complete.
export async function* arrayElements(body) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += value;
    let newline;
    while ((newline = buffer.indexOf("\n")) >= 0) {
      const text = buffer.slice(0, newline).trim().replace(/^[[,]/, "").replace(/]$/, "").trim();
      buffer = buffer.slice(newline + 1);
      if (text) yield JSON.parse(text);
    }
  }
  const rest = buffer.trim().replace(/^[[,]/, "").replace(/]$/, "").trim();
  if (rest) yield JSON.parse(rest);
}

function line(record) {
  const message = record.message || {};
  const time = new Date(record.timestamp).toLocaleTimeString(undefined, { hour12: false });
  return h("li", { class: `log-line role-${message.role || "unknown"}` },
    h("time", { datetime: record.timestamp }, time), " ",
    h("span", { class: "host" }, message.hostname || ""), " ",
    h("span", { class: "role" }, message.role || ""), " ",
    h("span", { class: "message" }, message.message ?? JSON.stringify(message)));
}
