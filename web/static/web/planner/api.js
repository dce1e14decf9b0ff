/* Calls to the REST API with the session cookie, the CSRF token and If-Match: the planner writes
 * through the same services, 409s and stale-edit rule (412) as any other client. */

import { state } from "./state.js";
import { t } from "./text.js";

function csrfToken() {
  const input = document.querySelector("#planner-form input[name=csrfmiddlewaretoken]");
  return input ? input.value : "";
}

/** The version inside an ETag header (weak or strong, quotes removed). */
function versionOf(etag) {
  return etag ? etag.replace(/^W\//, "").replace(/"/g, "") : null;
}

/** One API call; resolves to {status, data, version} and never rejects (status 0: no network). */
export function api(method, url, body, version) {
  const headers = { "Accept": "application/json", "X-CSRFToken": csrfToken() };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (version) headers["If-Match"] = "\"" + version + "\"";
  return fetch(url, {
    method: method, headers: headers, credentials: "same-origin",
    body: body === undefined ? undefined : JSON.stringify(body)
  }).then((response) => response.text().then((raw) => {
    let data = null;
    try { data = raw ? JSON.parse(raw) : null; } catch (e) { data = null; }
    return { status: response.status, data: data, version: versionOf(response.headers.get("ETag")) };
  }), () => ({ status: 0, data: null, version: null }));
}

/** The API's error (message and field errors) as one sentence, in the server's words: each field's
 * message once (a domain error repeats its message under its field) and without the API's field names. */
export function errorMessage(result) {
  if (result.status === 0) return t("network");
  const error = result.data && result.data.error;
  if (!error) return "HTTP " + result.status;
  const parts = error.message ? [error.message] : [];
  const said = (text) => parts.some((part) => part.indexOf(text) !== -1);
  const add = (value) => {
    if (Array.isArray(value)) value.forEach(add);
    else if (value && typeof value === "object") Object.keys(value).forEach((key) => add(value[key]));
    else if (value !== undefined && value !== null && String(value) && !said(String(value))) parts.push(String(value));
  };
  if (error.fields) add(error.fields);
  return parts.join(" ");
}

/** An availability refusal as the people and rooms it names ("Dr. X is absent then."), without the
 * server's advice about the panel's box: a move is booked anyway by pressing Enter again. */
export function unavailableMessage(result) {
  const error = result.data && result.data.error;
  const problems = (error && error.unavailable) || [];
  return problems.length ? problems.map((p) => p.message).join(" ") : errorMessage(result);
}

/** A meeting's URL, or one of its actions ("cancel"). */
export function meetingUrl(id, action) {
  return state.config.urls.meetings + id + "/" + (action ? action + "/" : "");
}
