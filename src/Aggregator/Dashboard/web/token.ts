// The bearer token lives in sessionStorage: it survives reloads of this tab, never reaches the URL
// (links are shared) and is gone when the tab closes.
const key = "agentmeter.token";

export function readToken(): string | null {
  return sessionStorage.getItem(key);
}

export function saveToken(token: string): void {
  const trimmed = token.trim();
  if (trimmed === "") sessionStorage.removeItem(key);
  else sessionStorage.setItem(key, trimmed);
}
