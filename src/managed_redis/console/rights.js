// What the signed-in token may do in a folder, asked of the API itself (it has no "who am I"
// method): dry runs that can never succeed. Each request is well formed (so the API's field
// checks, which come first, pass) but names a version and a preset that exist nowhere; the
// service checks the caller's rights before it looks them up, so the answer tells:
//   PERMISSION_DENIED (HTTP 403) -> the token lacks the right: offer no such controls;
//   INVALID_ARGUMENT (HTTP 400, the unknown version) -> the token has it.
// Nothing is created either way. One probe per folder (or backup) and token, kept while the
// page lives.
//   canChange:  a dry-run Create Cluster (needs managed-redis.editor or stronger);
//   canRestore: a dry-run Restore of one of the folder's backups (managed-redis.restorer or
//               stronger: a restorer may restore and change nothing else). Restore looks the
//               backup up first: an unknown one (404) says nothing, so the console asks only
//               with a backup it has just listed.
// Rights granted on a single cluster (its access bindings) are not probed: the console
// offers changes by folder rights; the API still refuses what the caller may not do.

const cache = new Map();
const PROBE = "console-rights-probe";
const PROBE_VERSION = "0.0-console-rights-probe";

/** Whether `api`'s token may change clusters in `folderId` (a Promise of a boolean). */
export function canChange(api, folderId) {
  return cached(`change\u0000${api.token}\u0000${folderId}`, () => probe(api, "/managed-redis/v1/clusters", newCluster(folderId)));
}

/** Whether `api`'s token may restore the backup `backup` (Backup JSON, as listed) into a new
 * cluster in `folderId` (a Promise of a boolean). `sharded`: whether the backup's cluster is. */
export function canRestore(api, folderId, backup, sharded) {
  const body = {
    ...newCluster(folderId),
    backupId: backup.id,
    sharded: Boolean(sharded),
    hostSpecs: (backup.sourceShardNames || [""]).map((shardName) => (sharded ? { zoneId: "ru-central1-a", shardName } : { zoneId: "ru-central1-a" })),
  };
  return cached(`restore\u0000${api.token}\u0000${folderId}`, () => probe(api, "/managed-redis/v1/clusters:restore", body));
}

function cached(key, ask) {
  if (!cache.has(key)) cache.set(key, ask());
  return cache.get(key);
}

function newCluster(folderId) {
  return {
    folderId,
    name: PROBE,
    environment: "PRODUCTION",
    configSpec: { version: PROBE_VERSION, resources: { resourcePresetId: PROBE }, redis: { password: PROBE } },
    hostSpecs: [{ zoneId: "ru-central1-a" }],
  };
}

async function probe(api, path, request) {
  try {
    await api.post(path, request);
    return true; // not expected: the version does not exist
  } catch (error) {
    return error.httpStatus === 400;
  }
}
