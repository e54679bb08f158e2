// The server's JSON API. Errors arrive as {error: message} with an HTTP status.

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

export async function getJson(url) {
  const res = await fetch(url, { headers: { accept: 'application/json' } });
  const body = await res.json().catch(() => ({ error: `${res.status} ${res.statusText}` }));
  if (!res.ok) throw new ApiError(res.status, body.error ?? `${res.status} ${res.statusText}`);
  return body;
}

export const api = {
  runs: () => getJson('/api/runs'),
  run: (name, version) => getJson(`/api/runs/${encodeURIComponent(name)}/${encodeURIComponent(version)}`),
  compare: (ids) => getJson(`/api/compare?${ids.map((id) => `run=${encodeURIComponent(id)}`).join('&')}`),
  sweeps: () => getJson('/api/sweeps'),
  sweep: (name, n) => getJson(`/api/sweeps/${encodeURIComponent(name)}/sweeps/${encodeURIComponent(n)}`),
};
