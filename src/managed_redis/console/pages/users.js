// A cluster's users tab: each Redis user, whether it is enabled and its ACL as the API shows
// it; for users who may change the cluster, creating one with its permissions, rotating a
// password, disabling or enabling, and deleting (each an operation followed on the page).

import { changeButton, clusterPath, counted, field, h, live, runOperation, statusLine, table, valueOf } from "./cluster_kit.js";

const REFRESH_MS = 10000;
// UserSpec.permissions fields, their labels and an example of each kind of ACL token.
const PERMISSIONS = [
  ["patterns", "Key patterns", "~app:*"],
  ["pubSubChannels", "Channels", "&news:*"],
  ["categories", "Categories", "+@read"],
  ["commands", "Commands", "+get +set"],
];

export async function render(root, ctx) {
  const status = statusLine();
  const list = h("div");
  const refresh = async () => {
    const users = await ctx.api.list(`${clusterPath(ctx)}/users`, "users");
    list.replaceChildren(userTable(ctx, users, status, refresh));
  };
  // DOM append writes a null as the text "null": a viewer's page gets no form, not that.
  root.append(...[h("h2", {}, "Users"), status, list, ctx.canChange ? createForm(ctx, refresh) : null].filter(Boolean));
  await live(ctx, REFRESH_MS, refresh);
}

function userTable(ctx, users, status, refresh) {
  const columns = [
    { title: "User", cell: (user) => h("code", {}, user.name) },
    { title: "Enabled", cell: (user) => (user.enabled ? "yes" : "no") },
    { title: "ACL", cell: (user) => h("code", {}, user.aclOptions || "") },
    ctx.canChange ? { title: "Actions", cell: (user) => actions(ctx, user, status, refresh) } : null,
  ].filter(Boolean);
  return table(counted(users.length, "user"), columns, users);
}

function actions(ctx, user, status, refresh) {
  const path = `${clusterPath(ctx)}/users/${encodeURIComponent(user.name)}`;
  const update = (body) => runOperation(ctx, () => ctx.api.patch(path, body), status, { done: refresh });
  const verb = user.enabled ? "Disable" : "Enable";
  const toggle = changeButton(ctx, verb, () => update({ enabled: !user.enabled, updateMask: "enabled" }),
    { class: "secondary small", "aria-label": `${verb} ${user.name}` });
  const rotate = changeButton(ctx, "Rotate password", () => {
    const password = window.prompt(`New password for ${user.name} (8-128 characters)`);
    if (password) update({ passwords: [password], updateMask: "passwords" });
  }, { class: "secondary small", "aria-label": `Rotate the password of ${user.name}` });
  const remove = user.name === "default" ? null : changeButton(ctx, "Delete", () => {
    if (window.confirm(`Delete user ${user.name}? Its connections are closed.`)) {
      runOperation(ctx, () => ctx.api.delete(path), status, { done: refresh });
    }
  }, { class: "danger small", "aria-label": `Delete ${user.name}` });
  return h("span", { class: "actions" }, toggle, rotate, remove);
}

function createForm(ctx, refresh) {
  const status = statusLine();
  const form = h("form", { class: "form card", "aria-labelledby": "create-user-title", novalidate: true },
    h("h3", { id: "create-user-title" }, "Create a user"),
    h("div", { class: "row" },
      field("Name", "userSpec.name", { required: true, autocomplete: "off" }),
      field("Password", "userSpec.passwords", { type: "password", autocomplete: "new-password" })),
    h("div", { class: "row" }, PERMISSIONS.map(([key, label, example]) => field(label, `userSpec.permissions.${key}`, { placeholder: example }))),
    h("div", { class: "field inline" },
      h("input", { type: "checkbox", id: "user-enabled", "data-field": "userSpec.enabled", defaultChecked: true }),
      h("label", { for: "user-enabled" }, "Enabled")),
    h("div", { class: "actions" }, h("button", { type: "submit" }, "Create user")),
    status);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const permissions = {};
    for (const [key] of PERMISSIONS) {
      const value = valueOf(form, `userSpec.permissions.${key}`);
      if (value) permissions[key] = value;
    }
    const userSpec = { name: valueOf(form, "userSpec.name"), permissions, enabled: valueOf(form, "userSpec.enabled") };
    const password = valueOf(form, "userSpec.passwords");
    if (password) userSpec.passwords = [password];
    runOperation(ctx, () => ctx.api.post(`${clusterPath(ctx)}/users`, { userSpec }), status, {
      form,
      done: async () => {
        form.reset();
        await refresh();
      },
    });
  });
  return form;
}
