// The console's entry point: sign-in, the header, and a hash router over ROUTES.
//
// How to add a page:
//   1. Write console/pages/<name>.js exporting `render(root, ctx)`: fill `root` (an element),
//      read `ctx` (below). It may return a Promise; errors it throws are shown on the page.
//   2. Add one line to ROUTES: { path: "#/clusters/:id/<name>", load: () => import("./pages/<name>.js"),
//      tab: "<Tab title>" }. Routes with a `tab` under #/clusters/:id/ appear as tabs of the
//      cluster, in ROUTES order, under a cluster header the app draws.
//
// ctx = {
//   api:        Api (api.js): get/post/patch/delete/list with the user's token;
//   params:     the route's :names, e.g. {id: "c9q…"}; query: URLSearchParams after "?";
//   folderId:   the folder picked in the header;
//   cluster:    on #/clusters/:id/… routes, the cluster's JSON (fetched on navigation);
//   canChange:  boolean: the token may change this folder's clusters (rights.js); draw no
//               create/change/delete controls when false;
//   navigate(hash), refresh(): go to a route / draw the current one again;
//   every(ms, fn): call fn every ms until the user leaves the page (live parts);
//   onLeave(fn): run fn when the user leaves the page; signal: an AbortSignal aborted then.
// }

import { Api } from "./api.js";
import { renderHeader, renderSignIn } from "./layout.js";
import { canChange } from "./rights.js";
import * as session from "./session.js";
import { badge, errorBox, h } from "./ui.js";

export const ROUTES = [
  { path: "#/clusters", load: () => import("./pages/clusters.js") },
  { path: "#/clusters/new", load: () => import("./pages/create_cluster.js") },
  { path: "#/clusters/:id/overview", load: () => import("./pages/cluster_overview.js"), tab: "Overview" },
  { path: "#/clusters/:id/hosts", load: () => import("./pages/hosts.js"), tab: "Hosts" },
  { path: "#/clusters/:id/shards", load: () => import("./pages/shards.js"), tab: "Shards" },
  { path: "#/clusters/:id/backups", load: () => import("./pages/backups.js"), tab: "Backups" },
  { path: "#/clusters/:id/users", load: () => import("./pages/users.js"), tab: "Users" },
  { path: "#/clusters/:id/operations", load: () => import("./pages/cluster_operations.js"), tab: "Operations" },
  { path: "#/clusters/:id/logs", load: () => import("./pages/logs.js"), tab: "Logs" },
  { path: "#/clusters/:id/monitoring", load: () => import("./pages/monitoring.js"), tab: "Monitoring" },
  { path: "#/clusters/:id/maintenance", load: () => import("./pages/maintenance.js"), tab: "Maintenance" },
];

const DEFAULT_ROUTE = "#/clusters";
const header = document.getElementById("top");
const main = document.getElementById("main");
let leaving = [];
let drawing = 0;

/** The route matching `hash` and its params, or null. */
export function matchRoute(hash) {
  const [path, query = ""] = hash.split("?");
  const parts = path.split("/");
  for (const route of ROUTES) {
    const pattern = route.path.split("/");
    if (pattern.length !== parts.length) continue;
    const params = {};
    const same = pattern.every((piece, i) => {
      if (piece.startsWith(":")) {
        params[piece.slice(1)] = decodeURIComponent(parts[i]);
        return parts[i] !== "";
      }
      return piece === parts[i];
    });
    if (same) return { route, params, query: new URLSearchParams(query) };
  }
  return null;
}

function leave() {
  for (const fn of leaving) fn();
  leaving = [];
}

async function draw() {
  leave();
  const serial = ++drawing;
  if (session.takeTokenFromAddress()) return draw();
  if (!session.token()) return renderSignIn(header, main, signIn);
  const api = new Api(session.token(), () => {
    session.signOut();
    renderSignIn(header, main, signIn, "The token was refused: sign in again.");
  });
  renderHeader(header, { onFolder: pickFolder, onSignOut: signOutNow });
  if (!location.hash || location.hash === "#" || location.hash === "#/") {
    location.replace(DEFAULT_ROUTE);
    return;
  }
  const found = matchRoute(location.hash);
  if (!found) {
    main.replaceChildren(h("h1", {}, "Not found"), h("p", {}, h("a", { href: DEFAULT_ROUTE }, "Back to the clusters")));
    return;
  }
  const ctx = await makeContext(api, found);
  if (serial !== drawing) return;
  main.replaceChildren();
  try {
    const root = found.route.tab ? await clusterFrame(ctx, found.route) : main;
    const page = await found.route.load();
    if (serial !== drawing) return;
    await page.render(root, ctx);
  } catch (error) {
    if (error?.name === "AbortError" || serial !== drawing) return;
    main.append(errorBox(error));
  }
}

async function makeContext(api, { params, query }) {
  const controller = new AbortController();
  leaving.push(() => controller.abort());
  const folderId = session.folder();
  const ctx = {
    api,
    params,
    query,
    folderId,
    cluster: null,
    canChange: false,
    signal: controller.signal,
    navigate: (hash) => (location.hash = hash),
    refresh: () => draw(),
    onLeave: (fn) => leaving.push(fn),
    every: (ms, fn) => {
      const timer = setInterval(() => Promise.resolve(fn()).catch(() => {}), ms);
      leaving.push(() => clearInterval(timer));
    },
  };
  if (!params.id && folderId) ctx.canChange = await canChange(api, folderId).catch(() => false);
  return ctx;
}

/** The cluster's header and tab bar above a tab page; returns the element the tab fills. */
async function clusterFrame(ctx, current) {
  const id = ctx.params.id;
  ctx.cluster = await ctx.api.get(`/managed-redis/v1/clusters/${encodeURIComponent(id)}`);
  ctx.canChange = await canChange(ctx.api, ctx.cluster.folderId).catch(() => false);
  const tabs = ROUTES.filter((route) => route.tab && route.path.startsWith("#/clusters/:id/"));
  const nav = h(
    "nav",
    { className: "tabs", "aria-label": "Cluster" },
    tabs.map((route) => {
      const href = route.path.replace(":id", encodeURIComponent(id));
      return h("a", { href, "aria-current": route === current ? "page" : null }, route.tab);
    }),
  );
  const body = h("section", { className: "tab-body", "aria-label": current.tab });
  main.append(
    h("p", { className: "crumbs" }, h("a", { href: "#/clusters" }, "Clusters"), " / ", ctx.cluster.name),
    h("h1", {}, ctx.cluster.name, " ", badge(ctx.cluster.status), " ", badge(ctx.cluster.health)),
    nav,
    body,
  );
  return body;
}

// A token is tried on a cheap read before it is kept: a refused one is said at once.
async function signIn(token) {
  try {
    await new Api(token).get("/managed-redis/v1/versions");
  } catch (error) {
    const why = error.httpStatus === 401 ? "The token was refused: check it and sign in again." : error.message;
    return renderSignIn(header, main, signIn, why);
  }
  session.signIn(token);
  if (!location.hash.startsWith("#/")) location.hash = DEFAULT_ROUTE;
  draw();
}

function signOutNow() {
  session.signOut();
  history.replaceState(null, "", location.pathname);
  draw();
}

function pickFolder(id) {
  session.chooseFolder(id);
  if (location.hash === DEFAULT_ROUTE) draw();
  else location.hash = DEFAULT_ROUTE;
}

window.addEventListener("hashchange", draw);
draw();
