// Reads the Prometheus text format (0.0.4) that GET /metrics answers into samples
// {name, labels, value}; comments (# HELP, # TYPE) and timestamps are skipped.

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+\S+)?$/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*,?/g;

// The samples of `text`, in order. A value of NaN, +Inf or -Inf is kept as such.
export function parseMetrics(text) {
  const samples = [];
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (!line || line.startsWith("#")) continue;
    const match = SAMPLE.exec(line);
    if (!match) continue;
    const labels = {};
    for (const [, key, value] of (match[2] || "").matchAll(LABEL)) labels[key] = unescape(value);
    samples.push({ name: match[1], labels, value: Number(match[3].replace("Inf", "Infinity")) });
  }
  return samples;
}

function unescape(value) {
  return value.replace(/\\(.)/g, (_, char) => (char === "n" ? "\n" : char));
}
