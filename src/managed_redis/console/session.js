// The signed-in token (sessionStorage: gone when the browser tab closes) and the chosen
// folder (localStorage, with the folders used before, so they can be picked again).

const TOKEN_KEY = "mredis.token";
const FOLDER_KEY = "mredis.folder";
const FOLDERS_KEY = "mredis.folders";

export function token() {
  return sessionStorage.getItem(TOKEN_KEY) || "";
}

export function signIn(value) {
  sessionStorage.setItem(TOKEN_KEY, value.trim());
}

export function signOut() {
  sessionStorage.removeItem(TOKEN_KEY);
}

/** A token given in the address (`/console/#token=…`): stored, then removed from the address
 * bar and the history entry. Returns whether one was given. */
export function takeTokenFromAddress() {
  const match = /^#token=([^&]+)(?:&(.*))?$/.exec(location.hash);
  if (!match) return false;
  signIn(decodeURIComponent(match[1]));
  const rest = match[2] ? `#${match[2]}` : "#/clusters";
  history.replaceState(null, "", location.pathname + location.search + rest);
  return true;
}

export function folder() {
  return localStorage.getItem(FOLDER_KEY) || "";
}

/** Remember `value` as the current folder and among the folders used before. */
export function chooseFolder(value) {
  const id = value.trim();
  localStorage.setItem(FOLDER_KEY, id);
  const known = [id, ...folders().filter((f) => f !== id)].slice(0, 20);
  localStorage.setItem(FOLDERS_KEY, JSON.stringify(known));
}

export function folders() {
  try {
    const list = JSON.parse(localStorage.getItem(FOLDERS_KEY) || "[]");
    return Array.isArray(list) ? list.filter((f) => typeof f === "string" && f) : [];
  } catch {
    return [];
  }
}
