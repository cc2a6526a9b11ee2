// A cluster's overview: its configuration and the endpoints, with connection strings to
// copy, made as `mredis cluster connect` makes them (client_cli/connect.py): the password
// read from $REDIS_PASSWORD, port 6379 (6380 with TLS), Sentinel on 26379. A TLS cluster's
// overview offers the service CA's certificate (GET /console/ca.pem with the user's token,
// api/console_pages.py) as a download named ca.pem, the file its connection strings name.

import { bytes, copyable, facts, h, when } from "../ui.js";
import { rawFetch, redisConfig } from "./cluster_kit.js";

export const PLAIN_PORT = 6379;
export const TLS_PORT = 6380;
export const SENTINEL_PORT = 26379;
const PASSWORD_VARIABLE = "REDIS_PASSWORD";
const CA_PATH = "ca.pem";
const CA_URL = "ca.pem"; // relative to /console/: the server's CA page

export async function render(root, ctx) {
  const cluster = ctx.cluster;
  const hosts = await ctx.api.list(`/managed-redis/v1/clusters/${encodeURIComponent(cluster.id)}/hosts`, "hosts");
  const config = cluster.config || {};
  const resources = config.resources || {};
  root.append(
    h(
      "div",
      { className: "columns" },
      h(
        "section",
        { className: "card", "aria-labelledby": "overview-cluster" },
        h("h2", { id: "overview-cluster" }, "Cluster"),
        facts([
          ["ID", cluster.id],
          ["Folder", cluster.folderId],
          ["Description", cluster.description],
          ["Environment", cluster.environment],
          ["Created", when(cluster.createdAt)],
          ["Sharded", cluster.sharded ? "yes (Redis Cluster)" : "no (Sentinel)"],
          ["TLS", cluster.tlsEnabled ? "on" : "off"],
          ["Persistence", cluster.persistenceMode || "ON"],
          ["Deletion protection", cluster.deletionProtection ? "on" : "off"],
          ["Hosts", String(hosts.length)],
        ]),
      ),
      h(
        "section",
        { className: "card", "aria-labelledby": "overview-config" },
        h("h2", { id: "overview-config" }, "Configuration"),
        facts([
          ["Version", config.version],
          ["Resource preset", resources.resourcePresetId],
          ["Disk", resources.diskSize ? `${bytes(resources.diskSize)} ${resources.diskTypeId || ""}` : ""],
          ["maxmemory-policy", redisConfig(cluster).maxmemoryPolicy],
          ["Backup window", timeOfDay(config.backupWindowStart)],
          ["Backups kept (days)", config.backupRetainPeriodDays],
        ]),
      ),
    ),
    h("h2", {}, "Connect"),
    connectSection(ctx, cluster, hosts),
  );
}

function timeOfDay(value) {
  if (!value) return "";
  const pad = (n) => String(n || 0).padStart(2, "0");
  return `${pad(value.hours)}:${pad(value.minutes)} UTC`;
}

function connectSection(ctx, cluster, hosts) {
  const strings = connectionStrings(cluster, hosts, CA_PATH);
  const parts = [
    h(
      "p",
      { className: "muted" },
      `The password is not shown: export ${PASSWORD_VARIABLE}='<the cluster password>' first.`,
      cluster.tlsEnabled ? ` The TLS strings read the service CA from ${CA_PATH} in the current directory: download it here.` : "",
    ),
    cluster.tlsEnabled ? caDownload(ctx) : null,
    copyable(strings.redisCli, "redis-cli"),
  ];
  for (const [client, snippet] of Object.entries(strings.redisPy)) parts.push(copyable(snippet, `redis-py, ${client}`));
  if (strings.sentinel) {
    parts.push(copyable(strings.sentinel.addresses.join("\n"), `Sentinel addresses (master name ${strings.sentinel.masterName})`));
  }
  return h("section", { className: "card", "aria-label": "Connection strings" }, parts);
}

// A button saving the service CA's certificate as ca.pem (fetched with the token: the page
// needs one, so a plain link would not do).
function caDownload(ctx) {
  const status = h("span", { className: "muted", role: "status" });
  const save = async () => {
    try {
      const blob = await (await rawFetch(ctx, CA_URL)).blob();
      const url = URL.createObjectURL(blob);
      const link = h("a", { href: url, download: CA_PATH, hidden: true });
      document.body.append(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10_000);
      status.textContent = `Saved ${CA_PATH}`;
    } catch (error) {
      status.textContent = `Not saved: ${error.message}`;
    }
  };
  const button = h("button", { type: "button", className: "secondary", onclick: save }, `Download the CA certificate (${CA_PATH})`);
  return h("div", { className: "actions" }, button, status);
}

/** The strings `mredis cluster connect` prints (client_cli/connect.py: connection_strings),
 * from the cluster's JSON and its hosts (ListHosts). */
export function connectionStrings(cluster, hosts, caPath) {
  const tls = Boolean(cluster.tlsEnabled);
  const port = tls ? TLS_PORT : PLAIN_PORT;
  const names = hosts.map((host) => host.name);
  const master = hosts.find((host) => host.role === "MASTER")?.name || names[0] || "";
  const tlsCli = tls ? ` --tls --cacert ${caPath}` : "";
  const tlsPy = tls ? `, ssl=True, ssl_ca_certs=${pyString(caPath)}` : "";
  const password = `os.environ["${PASSWORD_VARIABLE}"]`;
  const cli = (flags) => `REDISCLI_AUTH="$${PASSWORD_VARIABLE}" redis-cli${flags} -h ${master} -p ${port}${tlsCli}`;
  if (cluster.sharded) {
    const nodes = names.map((n) => `ClusterNode(${pyString(n)}, ${port})`).join(", ");
    return {
      redisCli: cli(" -c"),
      redisPy: {
        cluster: `import os\nfrom redis.cluster import RedisCluster, ClusterNode\nclient = RedisCluster(startup_nodes=[${nodes}], password=${password}${tlsPy})`,
      },
    };
  }
  const sentinels = names.map((n) => `(${pyString(n)}, ${SENTINEL_PORT})`).join(", ");
  return {
    redisCli: cli(""),
    redisPy: {
      standalone: `import os, redis\nclient = redis.Redis(host=${pyString(master)}, port=${port}, password=${password}${tlsPy})`,
      sentinel:
        `import os\nfrom redis.sentinel import Sentinel\nsentinel = Sentinel([${sentinels}])\n` +
        `client = sentinel.master_for(${pyString(cluster.name)}, password=${password}${tlsPy})`,
    },
    sentinel: { masterName: cluster.name, addresses: names.map((n) => `${n}:${SENTINEL_PORT}`) },
  };
}

// Python's repr of a plain string (host names, cluster names and paths here have no quotes).
function pyString(text) {
  return `'${String(text).replaceAll("\\", "\\\\").replaceAll("'", "\\'")}'`;
}
