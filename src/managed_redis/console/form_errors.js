// The API's field violations (google.rpc.BadRequest) shown beside the inputs they concern.
// An input names its API field in data-field, as the API spells it in snake case
// ("config_spec.redis.password"); a violation's path may come in either case
// ("configSpec.redis.password") and with indices ("host_specs[1].zone_id"). It goes to the
// input of the longest data-field that is a prefix of its path.

import { h } from "./ui.js";

/** The path in snake case without indices: "configSpec.hostSpecs[0].zoneId" -> "config_spec.host_specs.zone_id". */
export function normalizeField(path) {
  return String(path)
    .replace(/\[[^\]]*\]/g, "")
    .replace(/([a-z0-9])([A-Z])/g, "$1_$2")
    .toLowerCase();
}

/** Show each violation beside its input in `form`; returns the violations no input took. */
export function showFieldErrors(form, violations) {
  const targets = [...form.querySelectorAll("[data-field]")].map((el) => [normalizeField(el.dataset.field), el]);
  const unplaced = [];
  let first = null;
  for (const violation of violations) {
    const path = normalizeField(violation.field);
    const match = targets
      .filter(([name]) => path === name || path.startsWith(`${name}.`))
      .sort((a, b) => b[0].length - a[0].length)[0];
    if (!match) {
      unplaced.push(violation);
      continue;
    }
    const input = match[1];
    const message = h("p", { className: "field-error", id: `${input.id || "field"}-error-${Math.random().toString(36).slice(2, 8)}` }, violation.description);
    const holder = input.closest(".field") || input;
    holder.append(message);
    input.setAttribute("aria-invalid", "true");
    input.setAttribute("aria-describedby", [input.getAttribute("aria-describedby"), message.id].filter(Boolean).join(" "));
    first = first || input;
  }
  first?.focus();
  return unplaced;
}

/** Remove what showFieldErrors added. */
export function clearFieldErrors(form) {
  form.querySelectorAll(".field-error").forEach((el) => el.remove());
  form.querySelectorAll("[aria-invalid]").forEach((el) => {
    el.removeAttribute("aria-invalid");
    const kept = (el.getAttribute("aria-describedby") || "").split(" ").filter((id) => id.endsWith("-hint"));
    if (kept.length) el.setAttribute("aria-describedby", kept.join(" "));
    else el.removeAttribute("aria-describedby");
  });
}
