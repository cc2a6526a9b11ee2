// A small SVG line chart: one line per series over time, the last value of each in a legend,
// the highest value on the axis. No library: a few paths are all the monitoring tab needs.

const SVG = "http://www.w3.org/2000/svg";
const WIDTH = 360;
const HEIGHT = 120;
const COLORS = ["#2563eb", "#dc2626", "#16a34a", "#9333ea", "#ea580c", "#0891b2", "#4b5563"];

function svg(tag, attrs) {
  const element = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attrs)) element.setAttribute(key, String(value));
  return element;
}

// A <figure> charting `series` ({label: [[timeMs, value], ...]}) titled `title`, values shown
// with `format(value)`; the x axis spans at most `spanMs` up to now.
export function lineChart(title, series, format, spanMs) {
  const now = Date.now();
  const entries = Object.entries(series).sort(([a], [b]) => a.localeCompare(b));
  const values = entries.flatMap(([, points]) => points.map(([, value]) => value)).filter(Number.isFinite);
  const top = Math.max(1e-9, ...values) * 1.1;
  // The x axis runs from the first point (at most spanMs ago, at least 30 s) to now, so a page
  // just opened fills its charts rather than a sliver at their right edge.
  const first = Math.min(now - 30_000, ...entries.flatMap(([, points]) => points.map(([time]) => time)));
  const start = Math.max(now - spanMs, first);
  const x = (time) => ((time - start) / (now - start)) * WIDTH;
  const y = (value) => HEIGHT - (value / top) * HEIGHT;
  const chart = svg("svg", { viewBox: `0 0 ${WIDTH} ${HEIGHT}`, width: WIDTH, height: HEIGHT, role: "img", "aria-label": title, class: "line-chart" });
  chart.append(svg("rect", { x: 0, y: 0, width: WIDTH, height: HEIGHT, fill: "none", stroke: "#d1d5db" }));
  const axis = svg("text", { x: 4, y: 12, "font-size": 10, fill: "#6b7280" });
  axis.textContent = format(top / 1.1);
  chart.append(axis);
  entries.forEach(([, points], index) => {
    const shown = points.filter(([, value]) => Number.isFinite(value));
    if (!shown.length) return;
    const d = shown.map(([time, value], at) => `${at ? "L" : "M"}${x(time).toFixed(1)},${y(value).toFixed(1)}`).join(" ");
    const color = COLORS[index % COLORS.length];
    chart.append(svg("path", { d, fill: "none", stroke: color, "stroke-width": 1.5 }));
    const [time, value] = shown[shown.length - 1];
    chart.append(svg("circle", { cx: x(time).toFixed(1), cy: y(value).toFixed(1), r: 2.5, fill: color }));
  });
  const legend = document.createElement("ul");
  legend.className = "legend";
  entries.forEach(([label, points], index) => {
    const item = document.createElement("li");
    item.style.borderLeft = `0.8em solid ${COLORS[index % COLORS.length]}`;
    const last = points.length ? points[points.length - 1][1] : NaN;
    item.textContent = ` ${label}: ${Number.isFinite(last) ? format(last) : "—"}`;
    legend.append(item);
  });
  const figure = document.createElement("figure");
  figure.className = "chart";
  const caption = document.createElement("figcaption");
  caption.textContent = title;
  figure.append(caption, chart, legend);
  return figure;
}
