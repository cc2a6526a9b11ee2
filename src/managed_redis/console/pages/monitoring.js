// A cluster's monitoring tab: charts of its hosts' memory, clients, commands per second and
// replication lag, from GET /metrics (Prometheus text, read with the user's token) sampled
// every few seconds while the page is open. The server reads each host's load every
// metrics_period_s (12 s by default), so values step at that pace.

import { bytes } from "../ui.js";
import { h, live, rawFetch } from "./cluster_kit.js";
import { lineChart } from "./line_chart.js";
import { parseMetrics } from "./prom_text.js";

const SAMPLE_MS = 4000;
const SPAN_MS = 10 * 60 * 1000;

const count = (value) => (Math.abs(value) >= 100 ? value.toFixed(0) : value.toFixed(1).replace(/\.0$/, ""));

export async function render(root, ctx) {
  const status = h("p", { class: "status-line", role: "status" });
  const charts = h("div", { class: "charts" });
  root.append(h("h2", {}, "Monitoring"), status, charts);
  const history = { memory: {}, clients: {}, commands: {}, lag: {} };
  let previous = null;
  await live(ctx, SAMPLE_MS, async () => {
    try {
      const response = await rawFetch(ctx, "/metrics");
      const samples = parseMetrics(await response.text()).filter((s) => s.labels.cluster_id === ctx.params.id);
      const now = Date.now();
      previous = record(history, samples, now, previous);
      status.textContent = `Sampled ${new Date(now).toLocaleTimeString()}; ${hostCount(samples)} hosts.`;
      delete status.dataset.state;
      charts.replaceChildren(
        lineChart("Memory used", history.memory, bytes, SPAN_MS),
        lineChart("Clients", history.clients, count, SPAN_MS),
        lineChart("Commands per second", history.commands, count, SPAN_MS),
        lineChart("Replication lag (bytes behind the master)", history.lag, bytes, SPAN_MS),
      );
    } catch (error) {
      if (error?.name === "AbortError") return;
      status.dataset.state = "failed";
      status.textContent = error.message;
    }
  });
}

function hostCount(samples) {
  return new Set(samples.filter((s) => s.name === "redis_up").map((s) => s.labels.host)).size;
}

// Adds this scrape's points to `history` (per chart, per host) and drops points older than the
// span; answers the command counters to work out the next rate from.
function record(history, samples, now, previous) {
  const of = (name) => samples.filter((s) => s.name === name);
  const add = (chart, host, value) => {
    const points = (history[chart][host] ||= []);
    points.push([now, value]);
    while (points.length && points[0][0] < now - SPAN_MS) points.shift();
  };
  for (const s of of("redis_memory_used_bytes")) add("memory", s.labels.host, s.value);
  for (const s of of("redis_connected_clients")) add("clients", s.labels.host, s.value);
  const counters = {};
  for (const s of of("redis_commands_processed_total")) {
    counters[s.labels.host] = [now, s.value];
    const before = previous?.[s.labels.host];
    if (before && s.value >= before[1] && now > before[0]) {
      add("commands", s.labels.host, before[1] === s.value ? lastRate(history, s.labels.host) : (s.value - before[1]) / ((now - before[0]) / 1000));
    }
  }
  for (const [host, bytesBehind] of Object.entries(replicationLag(samples))) add("lag", host, bytesBehind);
  // A counter read again before the server's next read of the host says nothing new: keep the
  // previous scrape's counter so the rate spans the whole period between reads.
  const kept = { ...(previous || {}) };
  for (const [host, point] of Object.entries(counters)) {
    if (!kept[host] || kept[host][1] !== point[1]) kept[host] = point;
  }
  return kept;
}

// Bytes each replica is behind its master, by replica host: the master's replication offset
// less the offset it last heard the replica acknowledge (redis_connected_slave_offset_bytes),
// both from the master's one INFO reading. A replica's own offset is read at another time
// (the server reads each host in turn), so it cannot be set against the master's.
export function replicationLag(samples) {
  const masterOffset = {};
  for (const s of samples) {
    if (s.name === "redis_master_repl_offset" && s.labels.role === "master") masterOffset[s.labels.host] = s.value;
  }
  const lag = {};
  for (const s of samples) {
    const master = masterOffset[s.labels.host];
    if (s.name === "redis_connected_slave_offset_bytes" && master !== undefined && s.labels.slave_ip) {
      lag[s.labels.slave_ip] = Math.max(0, master - s.value);
    }
  }
  return lag;
}

function lastRate(history, host) {
  const points = history.commands[host] || [];
  return points.length ? points[points.length - 1][1] : 0;
}
