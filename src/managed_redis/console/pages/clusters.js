// The folder's clusters: name, status, health, version, hosts, sharded; filter by name;
// refreshed every few seconds; "Create cluster" for a token that may change the folder.

import { badge, errorBox, h } from "../ui.js";

const REFRESH_MS = 4000;

export async function render(root, ctx) {
  root.append(h("h1", {}, "Clusters"));
  if (!ctx.folderId) {
    root.append(h("p", {}, "Type a folder id in the header (", h("label", { for: "folder-picker" }, "Folder"), ") to see its clusters."));
    document.getElementById("folder-picker")?.focus();
    return;
  }
  const filter = h("input", { id: "cluster-filter", type: "search", placeholder: "name contains…", value: ctx.query.get("filter") || "" });
  const table = h("div", { "aria-live": "polite" });
  const stamp = h("span", { className: "muted" });
  root.append(
    h(
      "div",
      { className: "toolbar" },
      h("label", { for: "cluster-filter" }, "Filter by name"),
      filter,
      h("span", { className: "grow" }),
      stamp,
      ctx.canChange ? h("a", { href: "#/clusters/new", className: "button", role: "button" }, "Create cluster") : null,
    ),
    h("p", { className: "muted" }, `Folder ${ctx.folderId}`),
    table,
  );
  let clusters = [];
  const draw = () => table.replaceChildren(clusterTable(clusters, filter.value.trim().toLowerCase()));
  const load = async () => {
    try {
      clusters = await withHostCounts(ctx.api, await ctx.api.list("/managed-redis/v1/clusters", "clusters", { folderId: ctx.folderId }));
      stamp.textContent = `Updated ${new Date().toLocaleTimeString()}`;
      draw();
    } catch (error) {
      table.replaceChildren(errorBox(error));
    }
  };
  filter.addEventListener("input", draw);
  await load();
  ctx.every(REFRESH_MS, load);
}

async function withHostCounts(api, clusters) {
  const counts = await Promise.all(
    clusters.map((c) =>
      api
        .list(`/managed-redis/v1/clusters/${encodeURIComponent(c.id)}/hosts`, "hosts")
        .then((hosts) => hosts.length)
        .catch(() => null),
    ),
  );
  return clusters.map((c, i) => ({ ...c, hostsCount: counts[i] }));
}

function clusterTable(clusters, needle) {
  const shown = clusters.filter((c) => !needle || c.name.toLowerCase().includes(needle));
  if (!clusters.length) return h("p", { className: "card" }, "No clusters in this folder yet.");
  if (!shown.length) return h("p", { className: "card" }, "No cluster's name contains that.");
  const head = ["Name", "Status", "Health", "Version", "Hosts", "Sharded", "Environment"];
  return h(
    "table",
    { "aria-label": "Clusters" },
    h("thead", {}, h("tr", {}, head.map((title) => h("th", { scope: "col", className: title === "Hosts" ? "num" : "" }, title)))),
    h(
      "tbody",
      {},
      shown.map((c) =>
        h(
          "tr",
          { "data-cluster-id": c.id },
          h("td", {}, h("a", { href: `#/clusters/${encodeURIComponent(c.id)}/overview` }, c.name), h("div", { className: "muted" }, c.id)),
          h("td", {}, badge(c.status)),
          h("td", {}, badge(c.health)),
          h("td", {}, c.config?.version || ""),
          h("td", { className: "num" }, c.hostsCount ?? "?"),
          h("td", {}, c.sharded ? "yes" : "no"),
          h("td", {}, c.environment || ""),
        ),
      ),
    ),
  );
}
