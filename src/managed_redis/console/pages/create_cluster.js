// The create-cluster wizard: one form (name, environment, version, preset, hosts and zones,
// sharding, password, persistence, TLS). The API validates it: each field violation of its
// answer is shown beside the input it names (form_errors.js); then the operation is watched
// to its end and the new cluster opened.

import { waitOperation } from "../operations.js";
import { clearFieldErrors, showFieldErrors } from "../form_errors.js";
import { bytes, errorBox, h } from "../ui.js";

const ENVIRONMENTS = ["PRODUCTION", "PRESTABLE"];
const PERSISTENCE = [
  ["ON", "On (AOF and RDB on every host)"],
  ["ON_REPLICAS", "On replicas only"],
  ["OFF", "Off"],
];

export async function render(root, ctx) {
  root.append(h("p", { className: "crumbs" }, h("a", { href: "#/clusters" }, "Clusters"), " / new"), h("h1", {}, "Create cluster"));
  if (!ctx.canChange) {
    root.append(h("p", { className: "card" }, `This token may not create clusters in folder ${ctx.folderId || "(none chosen)"}.`));
    return;
  }
  const [versions, presets] = await Promise.all([
    ctx.api.get("/managed-redis/v1/versions").then((answer) => answer.version || []),
    ctx.api.list("/managed-redis/v1/resourcePresets", "resourcePresets"),
  ]);
  const form = buildForm(versions, presets);
  root.append(form.element);
  form.element.addEventListener("submit", (event) => {
    event.preventDefault();
    submit(ctx, form).catch((error) => form.problems.replaceChildren(errorBox(error)));
  });
  form.inputs.name.focus();
}

async function submit(ctx, form) {
  clearFieldErrors(form.element);
  form.problems.replaceChildren();
  form.submit.disabled = true;
  try {
    let operation;
    try {
      operation = await ctx.api.post("/managed-redis/v1/clusters", request(ctx.folderId, form.inputs));
    } catch (error) {
      const unplaced = showFieldErrors(form.element, error.fieldViolations || []);
      if (unplaced.length || !(error.fieldViolations || []).length) form.problems.replaceChildren(errorBox(error));
      return;
    }
    const clusterId = operation.metadata?.clusterId;
    await waitOperation(ctx.api, operation, form.status, { signal: ctx.signal });
    ctx.navigate(`#/clusters/${encodeURIComponent(clusterId)}/overview`);
  } finally {
    form.submit.disabled = false;
  }
}

/** The CreateClusterRequest JSON the form's inputs say. */
function request(folderId, inputs) {
  const zones = inputs.zones.filter((box) => box.checked).map((box) => box.value);
  const sharded = inputs.sharded.checked;
  const shards = sharded ? Number(inputs.shards.value) : 1;
  const perShard = Number(inputs.hosts.value);
  const hostSpecs = [];
  for (let shard = 0; shard < shards; shard++) {
    for (let i = 0; i < perShard; i++) {
      const spec = { zoneId: zones.length ? zones[(shard + i) % zones.length] : "" };
      if (sharded) spec.shardName = `s${shard + 1}`;
      hostSpecs.push(spec);
    }
  }
  const resources = { resourcePresetId: inputs.preset.value };
  if (inputs.disk.value) resources.diskSize = String(Math.round(Number(inputs.disk.value) * 1024 ** 3));
  return {
    folderId,
    name: inputs.name.value.trim(),
    description: inputs.description.value,
    environment: inputs.environment.value,
    configSpec: { version: inputs.version.value, resources, redis: { password: inputs.password.value } },
    hostSpecs,
    sharded,
    persistenceMode: inputs.persistence.value,
    tlsEnabled: inputs.tls.checked,
    deletionProtection: inputs.protection.checked,
  };
}

// One labelled input; `field` is the API's field path (snake case) its errors come under.
function field(id, label, input, field, hint = "") {
  input.id = id;
  input.dataset.field = field;
  if (hint) input.setAttribute("aria-describedby", `${id}-hint`);
  return h(
    "div",
    { className: "field" },
    h("label", { for: id }, label),
    input,
    hint ? h("span", { className: "hint", id: `${id}-hint` }, hint) : null,
  );
}

function checkbox(id, label, field, checked = false) {
  const input = h("input", { type: "checkbox", id, checked });
  input.dataset.field = field;
  return [input, h("div", { className: "field inline" }, input, h("label", { for: id }, label))];
}

function select(options, selected) {
  return h(
    "select",
    {},
    options.map(([value, text]) => h("option", { value, selected: value === selected }, text)),
  );
}

function buildForm(versions, presets) {
  const inputs = {
    name: h("input", { required: true, autocomplete: "off", spellcheck: false, maxLength: 63 }),
    description: h("input", { autocomplete: "off" }),
    environment: select(ENVIRONMENTS.map((e) => [e, e]), "PRODUCTION"),
    version: select(versions.map((v) => [v.id, `${v.name || v.id}${v.deprecated ? " (deprecated)" : ""}`]), versions[0]?.id),
    preset: select(presets.map((p) => [p.id, `${p.id}: ${bytes(p.memory)} RAM, ${p.cores} cores`]), presets[0]?.id),
    disk: h("input", { type: "number", min: 1, step: 1, placeholder: "preset's default" }),
    hosts: h("input", { type: "number", min: 1, max: 7, value: 1, required: true }),
    shards: h("input", { type: "number", min: 1, max: 10, value: 3, disabled: true }),
    password: h("input", { type: "password", autocomplete: "new-password", required: true }),
    persistence: select(PERSISTENCE, "ON"),
  };
  const [sharded, shardedRow] = checkbox("cc-sharded", "Sharded (Redis Cluster)", "sharded");
  const [tls, tlsRow] = checkbox("cc-tls", "TLS", "tls_enabled");
  const [protection, protectionRow] = checkbox("cc-protection", "Deletion protection", "deletion_protection");
  Object.assign(inputs, { sharded, tls, protection });
  sharded.addEventListener("change", () => (inputs.shards.disabled = !sharded.checked));
  const zoneIds = [...new Set(presets.flatMap((p) => p.zoneIds || []))].sort();
  inputs.zones = zoneIds.map((zone, i) => h("input", { type: "checkbox", value: zone, id: `cc-zone-${zone}`, checked: i < 3 }));
  const zoneBoxes = h(
    "fieldset",
    { "data-field": "host_specs.zone_id" },
    h("legend", {}, "Zones (hosts are spread over the checked ones)"),
    inputs.zones.map((box) => h("span", { className: "field inline" }, box, h("label", { for: box.id }, box.value))),
  );
  const submit = h("button", { type: "submit" }, "Create cluster");
  const status = h("p", { className: "status-line", role: "status" });
  const problems = h("div");
  const element = h(
    "form",
    { className: "form", "aria-label": "Create cluster", novalidate: true },
    h(
      "fieldset",
      {},
      h("legend", {}, "Cluster"),
      field("cc-name", "Name", inputs.name, "name", "Letters, digits, - and _; unique in the folder."),
      field("cc-description", "Description", inputs.description, "description"),
      h("div", { className: "row" }, field("cc-environment", "Environment", inputs.environment, "environment"), field("cc-version", "Version", inputs.version, "config_spec.version")),
    ),
    h(
      "fieldset",
      {},
      h("legend", {}, "Hosts"),
      h("div", { className: "row" }, field("cc-preset", "Resource preset", inputs.preset, "config_spec.resources.resource_preset_id"), field("cc-disk", "Disk size, GiB", inputs.disk, "config_spec.resources.disk_size")),
      h("div", { className: "row" }, field("cc-hosts", "Hosts (per shard)", inputs.hosts, "host_specs"), field("cc-shards", "Shards", inputs.shards, "shards")),
      shardedRow,
      zoneBoxes,
    ),
    h(
      "fieldset",
      {},
      h("legend", {}, "Access and data"),
      field("cc-password", "Password", inputs.password, "config_spec.redis.password", "8 to 128 characters."),
      field("cc-persistence", "Persistence", inputs.persistence, "persistence_mode"),
      tlsRow,
      protectionRow,
    ),
    problems,
    h("div", { className: "actions" }, submit, h("a", { href: "#/clusters" }, "Cancel")),
    status,
  );
  return { element, inputs, submit, status, problems };
}
