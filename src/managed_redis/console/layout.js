// The frame around every page: the header (console name, folder picker, sign-out) and the
// sign-in form shown while no token is kept.

import { h } from "./ui.js";
import * as session from "./session.js";

/** Fill `header` for a signed-in user: `onFolder(id)` when a folder is picked, `onSignOut()`. */
export function renderHeader(header, { onFolder, onSignOut }) {
  const input = h("input", {
    id: "folder-picker",
    name: "folder",
    list: "known-folders",
    value: session.folder(),
    placeholder: "folder id",
    autocomplete: "off",
    spellcheck: false,
    size: 24,
  });
  const known = h("datalist", { id: "known-folders" }, session.folders().map((f) => h("option", { value: f })));
  const picker = h(
    "form",
    {
      className: "folder-picker",
      role: "search",
      onsubmit: (event) => {
        event.preventDefault();
        if (input.value.trim()) onFolder(input.value.trim());
      },
    },
    h("label", { for: "folder-picker" }, "Folder"),
    input,
    known,
    h("button", { type: "submit", className: "secondary small" }, "Open"),
  );
  header.replaceChildren(
    h("a", { href: "#/clusters", className: "brand" }, "managed-redis"),
    h("nav", { "aria-label": "Main" }, h("a", { href: "#/clusters" }, "Clusters")),
    picker,
    h("button", { type: "button", className: "secondary small", onclick: onSignOut }, "Sign out"),
  );
}

/** Fill `main` with the sign-in form; `onSignIn(token)` when it is sent. `message`: why. */
export function renderSignIn(header, main, onSignIn, message = "") {
  header.replaceChildren(h("span", { className: "brand" }, "managed-redis"));
  const input = h("input", {
    id: "token",
    name: "token",
    type: "password",
    required: true,
    autocomplete: "current-password",
    spellcheck: false,
  });
  const form = h(
    "form",
    {
      className: "card sign-in",
      "aria-labelledby": "sign-in-title",
      onsubmit: (event) => {
        event.preventDefault();
        if (input.value.trim()) onSignIn(input.value.trim());
      },
    },
    h("h1", { id: "sign-in-title" }, "Sign in"),
    message ? h("p", { className: "error", role: "alert" }, message) : null,
    h(
      "p",
      { className: "muted" },
      "Paste an API token: the admin token printed by mredis serve, or one of the tokens file. ",
      "It is kept in this browser tab only.",
    ),
    h("label", { for: "token" }, "Token"),
    input,
    h("div", { className: "actions" }, h("button", { type: "submit" }, "Sign in")),
  );
  main.replaceChildren(form);
  input.focus();
}
