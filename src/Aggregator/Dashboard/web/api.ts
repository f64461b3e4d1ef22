import { readToken } from "./token";

export type FailureKind = "unreachable" | "unauthorized" | "forbidden" | "badRequest" | "server";

/** A failed API call, classified so a panel can say what is going on instead of "error". */
export class ApiError extends Error {
  constructor(
    readonly kind: FailureKind,
    readonly path: string,
    message: string,
    readonly status?: number,
  ) {
    super(message);
  }
}

export async function getJson<T>(path: string, query: Record<string, string | undefined> = {}): Promise<T> {
  return (await (await send(path, query, "application/json")).json()) as T;
}

/** A file the API writes (a CSV report), fetched with the token like every other call. */
export async function getBlob(path: string, query: Record<string, string | undefined> = {}): Promise<Blob> {
  return (await send(path, query, "text/csv")).blob();
}

async function send(path: string, query: Record<string, string | undefined>, accept: string): Promise<Response> {
  const url = new URL(path, window.location.origin);
  for (const [name, value] of Object.entries(query)) {
    if (value !== undefined && value !== "") url.searchParams.set(name, value);
  }
  const headers: Record<string, string> = { Accept: accept };
  const token = readToken();
  if (token) headers.Authorization = `Bearer ${token}`;

  let response: Response;
  try {
    response = await fetch(url, { headers });
  } catch {
    throw new ApiError("unreachable", path, `The analytics API is unreachable (${path}): is the aggregator running?`);
  }
  if (response.ok) return response;

  const detail = await errorDetail(response);
  switch (response.status) {
    case 401:
      throw new ApiError("unauthorized", path,
        `Token refused (401): ${token ? "the token you entered is not valid" : "this deployment needs a bearer token"}. Enter one with “Token”.`, 401);
    case 403:
      throw new ApiError("forbidden", path,
        `Token refused (403): this token may not see that data${detail ? ` — ${detail}` : ""}.`, 403);
    case 400:
      throw new ApiError("badRequest", path, `The API rejected the request: ${detail || "bad parameter"}.`, 400);
    default:
      throw new ApiError("server", path, `The API answered ${response.status} for ${path}${detail ? `: ${detail}` : ""}.`, response.status);
  }
}

async function errorDetail(response: Response): Promise<string> {
  try {
    const text = await response.text();
    try {
      const body = JSON.parse(text) as { error?: unknown };
      if (typeof body.error === "string") return body.error;
    } catch {
      // not JSON: fall through to the raw text
    }
    return text.slice(0, 200);
  } catch {
    return "";
  }
}
