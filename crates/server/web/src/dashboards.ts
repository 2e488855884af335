// Saved dashboards (server side: crates/server/src/dashboards.rs): their
// shapes, calls, and how a saved panel becomes a query.
import { Agg, TagFilter, api, parseFilters } from './api';
import { KeyMetric } from './metrics';

export type PanelKind = 'series' | 'top';

export interface SavedPanel {
  title: string;
  kind: PanelKind;
  metric: string;
  filters: string[];
  group_by: string[];
  agg: string;
  top?: number;
}

export interface SavedDashboard {
  id: string;
  name: string;
  panels: SavedPanel[];
  owner: string;
  updated_by: string;
  created_ms: number;
  updated_ms: number;
}

export type DashboardSpec = Pick<SavedDashboard, 'name' | 'panels'>;

export const PANEL_AGGS = ['avg', 'sum', 'min', 'max', 'count', 'rate', 'p50', 'p90', 'p95', 'p99'];

export const listDashboards = () => api<{ dashboards: SavedDashboard[] }>('/api/v1/dashboards').then((r) => r.dashboards);
export const getDashboard = (id: string) => api<SavedDashboard>(`/api/v1/dashboards/${encodeURIComponent(id)}`);
export const createDashboard = (d: DashboardSpec) => api<SavedDashboard>('/api/v1/dashboards', d);
export const saveDashboard = (id: string, d: DashboardSpec) =>
  api<SavedDashboard>(`/api/v1/dashboards/${encodeURIComponent(id)}`, d, 'PUT');
export const deleteDashboard = (id: string) => api<unknown>(`/api/v1/dashboards/${encodeURIComponent(id)}`, undefined, 'DELETE');

/** The time aggregation of `p95`-style names, and how groups combine. */
export function aggOf(name: string): { time: Agg; group: Agg } {
  const q = /^p(\d\d)$/.exec(name);
  if (q) return { time: { quantile: Number(q[1]) / 100 }, group: 'merge' };
  return { time: (name || 'avg') as Agg, group: 'sum' };
}

/** A display unit guessed from the metric's name and aggregation. */
export function unitOf(metric: string, agg: string): string {
  if (agg === 'count') return '';
  if (metric.startsWith('cpu.')) return 'pct';
  if (metric.startsWith('memory.')) return 'bytes';
  if (metric.endsWith('.bytes')) return agg === 'rate' ? 'Bps' : 'bytes';
  if (metric.endsWith('latency') || metric.endsWith('.ns')) return 'ns';
  if (agg === 'rate') return 'rps';
  return '';
}

/** The panel as a key metric (one query) with its scope filters. */
export function asKey(p: SavedPanel): { key: KeyMetric; filters: TagFilter[] } {
  const a = aggOf(p.agg);
  const key: KeyMetric = {
    id: `${p.metric}|${p.agg}|${p.filters.join(',')}`,
    label: p.metric,
    metrics: [p.metric],
    time: a.time,
    group: a.group,
    unit: unitOf(p.metric, p.agg),
  };
  return { key, filters: parseFilters(p.filters) };
}

/** `a=b, c=d` or `x, y` as a list. */
export const splitList = (s: string) =>
  s
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean);
