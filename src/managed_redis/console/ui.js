// Small DOM helpers shared by the pages: element building, badges, times, copy buttons.

/** h("button", {type: "button", onclick: f}, "Text", child…): an element. Attributes starting
 * with "on" are listeners; `class`, `for`, aria-* and data-* are set as attributes. */
export function h(tag, attrs = {}, ...children) {
  const element = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on") && typeof value === "function") {
      element.addEventListener(key.slice(2), value);
    } else if (key in element && !key.includes("-") && key !== "list" && key !== "form") {
      element[key] = value;
    } else {
      element.setAttribute(key, value === true ? "" : String(value));
    }
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    element.append(child instanceof Node ? child : String(child));
  }
  return element;
}

/** A status or health word as a coloured badge (class badge-<word in lower case>). */
export function badge(word) {
  const text = word || "UNKNOWN";
  return h("span", { className: `badge badge-${text.toLowerCase()}` }, text);
}

/** An RFC 3339 time as the browser's local date and time. */
export function when(value) {
  if (!value) return "";
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? value : date.toLocaleString();
}

/** A byte count as KiB/MiB/GiB. */
export function bytes(value) {
  let n = Number(value || 0);
  for (const unit of ["B", "KiB", "MiB", "GiB", "TiB"]) {
    if (n < 1024 || unit === "TiB") return `${Math.round(n * 10) / 10} ${unit}`;
    n /= 1024;
  }
  return `${n}`;
}

/** A read-only code block with a "Copy" button that copies `text` to the clipboard. */
export function copyable(text, label) {
  const code = h("pre", { className: "code", "aria-label": label }, h("code", {}, text));
  const status = h("span", { className: "muted", role: "status" });
  const button = h(
    "button",
    {
      type: "button",
      className: "secondary small",
      "aria-label": `Copy ${label}`,
      onclick: async () => {
        try {
          await navigator.clipboard.writeText(text);
          status.textContent = "Copied";
        } catch {
          selectText(code);
          status.textContent = "Selected: press Ctrl+C";
        }
      },
    },
    "Copy",
  );
  return h("div", { className: "copyable" }, h("div", { className: "copy-head" }, h("span", {}, label), button, status), code);
}

function selectText(element) {
  const range = document.createRange();
  range.selectNodeContents(element);
  const selection = window.getSelection();
  selection.removeAllRanges();
  selection.addRange(range);
}

/** An error box saying `error.message` (role=alert, so screen readers announce it). */
export function errorBox(error) {
  return h("div", { className: "error", role: "alert" }, error?.message || String(error));
}

/** A two-column description list from [[term, value], …] (empty values skipped). */
export function facts(rows) {
  const list = h("dl", { className: "facts" });
  for (const [term, value] of rows) {
    if (value === undefined || value === null || value === "") continue;
    list.append(h("dt", {}, term), h("dd", {}, value));
  }
  return list;
}
