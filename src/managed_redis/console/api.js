// The REST API client: the user's bearer token, JSON in and out, and google.rpc.Status
// answers turned into ApiError (message, code, and the field violations of a BadRequest).

const BAD_REQUEST = "type.googleapis.com/google.rpc.BadRequest";

export class ApiError extends Error {
  /** status: the google.rpc.Status (or {message}); httpStatus: the HTTP status code. */
  constructor(status, httpStatus) {
    super(status.message || `HTTP ${httpStatus}`);
    this.name = "ApiError";
    this.code = status.code ?? 0; // the gRPC code number (3 INVALID_ARGUMENT, 7 PERMISSION_DENIED…)
    this.httpStatus = httpStatus;
    this.details = status.details || [];
    // [{field: "config_spec.redis.password", description: "…"}] from a BadRequest detail.
    this.fieldViolations = this.details
      .filter((d) => d["@type"] === BAD_REQUEST)
      .flatMap((d) => d.fieldViolations || d.field_violations || []);
  }
}

export class Api {
  /** token: the bearer token; onUnauthenticated(): called when the API answers 401. */
  constructor(token, onUnauthenticated = () => {}) {
    this.token = token;
    this.onUnauthenticated = onUnauthenticated;
  }

  /** GET path (with query: an object of parameters); the answer's JSON. */
  get(path, query = {}) {
    return this.call("GET", withQuery(path, query));
  }
  post(path, body = {}) {
    return this.call("POST", path, body);
  }
  patch(path, body = {}) {
    return this.call("PATCH", path, body);
  }
  delete(path) {
    return this.call("DELETE", path);
  }

  /** Every item of a paged list: `key` is the answer's list field (e.g. "clusters"). */
  async list(path, key, query = {}) {
    const items = [];
    let pageToken = "";
    do {
      const page = await this.get(path, { ...query, pageSize: 1000, pageToken });
      items.push(...(page[key] || []));
      pageToken = page.nextPageToken || "";
    } while (pageToken);
    return items;
  }

  async call(method, path, body) {
    const headers = { Authorization: `Bearer ${this.token}`, Accept: "application/json" };
    const init = { method, headers, cache: "no-store" };
    if (body !== undefined) {
      headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    let response;
    try {
      response = await fetch(path, init);
    } catch (error) {
      throw new ApiError({ code: 14, message: `the server is unreachable (${error.message})` }, 0);
    }
    const text = await response.text();
    let json = {};
    try {
      json = text ? JSON.parse(text) : {};
    } catch {
      json = { message: text.slice(0, 200) };
    }
    if (!response.ok) {
      if (response.status === 401) this.onUnauthenticated();
      throw new ApiError(json, response.status);
    }
    return json;
  }
}

function withQuery(path, query) {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value !== undefined && value !== null && value !== "") params.set(key, String(value));
  }
  const text = params.toString();
  return text ? `${path}?${text}` : path;
}
