// Waiting for a long-running operation: polls GET /operations/<id> until it is done, keeping a
// live status line (an element with role=status) up to date with the step it runs, which this
// server says beside the API (GET /mredis/v1/operation-progress; the API's Operation has no
// field for it). A server without that page gets the steps counted from modifiedAt moves.

import { ApiError } from "./api.js";

const POLL_MS = 1000;
const PROGRESS_PATH = "/mredis/v1/operation-progress";

/** Wait until `operation` (an Operation JSON) is done; `line` (an element, optional) shows
 * "<description> <id>: running (12 s, step 'form the cluster', 2 done)" meanwhile and the
 * outcome at the end. Resolves with the done operation; rejects with an ApiError built from
 * the operation's error if it failed. `signal` (an AbortSignal, optional) stops the waiting
 * (rejects with an AbortError). */
export async function waitOperation(api, operation, line = null, { signal = null, pollMs = POLL_MS } = {}) {
  const started = Date.now();
  let current = operation;
  let counted = 0;
  let modified = operation.modifiedAt;
  let named = true; // the server names its steps, until it says it cannot
  if (line) line.setAttribute("role", "status");
  while (!current.done) {
    const steps = named ? await stepsOf(api, operation.id) : null;
    named = steps !== null;
    const seconds = Math.round((Date.now() - started) / 1000);
    show(line, `${current.description || "Operation"} ${current.id}: running (${seconds} s${said(steps, counted)})`);
    await sleep(pollMs, signal);
    current = await api.get(`/operations/${encodeURIComponent(operation.id)}`);
    if (current.modifiedAt !== modified) [counted, modified] = [counted + 1, current.modifiedAt];
  }
  if (current.error) {
    show(line, `${current.description || "Operation"} failed: ${current.error.message}`, "failed");
    throw new ApiError(current.error, 200);
  }
  show(line, `${current.description || "Operation"}: done`, "done");
  return current;
}

/** The server's account of an operation's steps ({stepsDone, currentStep}); null if it has
 * no such page or refuses it. */
export async function stepsOf(api, operationId) {
  try {
    return await api.get(PROGRESS_PATH, { operationId });
  } catch (error) {
    if (error instanceof ApiError) return null;
    throw error;
  }
}

/** The steps part of the line: ", step 'x', 2 done", or the count seen from modifiedAt. */
function said(steps, counted) {
  const plural = (n) => `${n} step${n === 1 ? "" : "s"} done`;
  if (steps === null) return counted ? `, ${plural(counted)}` : "";
  const done = (steps.stepsDone || []).length;
  if (steps.currentStep) return `, step '${steps.currentStep}'${done ? `, ${done} done` : ""}`;
  return done ? `, ${plural(done)}` : "";
}

/** The state of an operation as a word: RUNNING, DONE or FAILED. */
export function operationState(operation) {
  if (!operation.done) return "RUNNING";
  return operation.error ? "FAILED" : "DONE";
}

function show(line, text, state = "running") {
  if (!line) return;
  line.textContent = text;
  line.dataset.state = state;
}

function sleep(ms, signal) {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new DOMException("stopped", "AbortError"));
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener("abort", () => {
      clearTimeout(timer);
      reject(new DOMException("stopped", "AbortError"));
    });
  });
}
