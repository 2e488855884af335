// The REST API's shapes and calls (cookies carry the session).

export class HttpError extends Error {
  constructor(public status: number, message: string) {
    super(message);
  }
}

let onUnauthorized: () => void = () => {};
export function setUnauthorizedHandler(f: () => void) {
  onUnauthorized = f;
}

export async function api<T>(path: string, body?: unknown, method?: 'PUT' | 'DELETE'): Promise<T> {
  const init: RequestInit = { credentials: 'same-origin', method };
  if (body !== undefined) {
    init.method = method || 'POST';
    init.headers = { 'Content-Type': 'application/json' };
    init.body = JSON.stringify(body);
  }
  const r = await fetch(path, init);
  const j = await r.json().catch(() => ({}));
  if (!r.ok) {
    if (r.status === 401 && !path.endsWith('/login')) onUnauthorized();
    throw new HttpError(r.status, (j && j.error) || r.statusText);
  }
  return j as T;
}

export type Role = 'viewer' | 'editor' | 'admin';
export interface Me {
  user: string;
  role: Role;
  /** The user's team: it sees only the team's namespaces. */
  team?: string | null;
  namespaces?: string[] | null;
}

export type TagFilter = { eq: [string, string] } | { ne: [string, string] } | { re: [string, string] };
export type Agg = 'avg' | 'sum' | 'min' | 'max' | 'count' | 'rate' | 'merge' | { quantile: number };

export interface Query {
  metric: string;
  start_ms: number;
  end_ms: number;
  step_ms: number;
  filters?: TagFilter[];
  group_by?: string[];
  time_agg: Agg;
  group_agg: Agg;
  top?: [number, 'highest' | 'lowest'] | null;
}

export interface Group {
  tags: Record<string, string>;
  points: [number, number][];
}
export interface Answer {
  resolution: string;
  groups: Group[];
}

export function query(q: Query): Promise<Answer> {
  return api<Answer>('/api/v1/metrics/query', q);
}

/** A failed query of a `queries` call. */
export interface QueryError {
  error: string;
  status: number;
}

/** Several queries in one call (the server reads their shared rows once). */
export async function queries(qs: Query[]): Promise<(Answer | QueryError)[]> {
  const r = await api<{ answers: (Answer | QueryError)[] }>('/api/v1/metrics/queries', { queries: qs });
  return r.answers;
}

export interface Host {
  agent: string;
  status: 'ok' | 'silent' | 'deregistered' | 'unknown';
  last_batch_ms: number;
  last_keepalive_ms: number;
  interval_ms: number;
  subscriptions: string[];
}

export interface SEvent {
  ts_ms: number;
  agent: string;
  kind: string;
  tags: Record<string, string>;
  body: unknown;
}

/** `k=v` strings (URL form) as equality filters. */
export function parseFilters(fs: string[]): TagFilter[] {
  return fs
    .map((f) => f.split('='))
    .filter((p) => p.length >= 2 && p[0])
    .map((p) => ({ eq: [p[0], p.slice(1).join('=')] as [string, string] }));
}
