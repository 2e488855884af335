// Alert rules, their state, silences, acknowledgements, history and
// captures: the shapes of /api/v1/alerts/* and /api/v1/captures.
import { SEvent, TagFilter, api } from './api';

export type RuleState = 'ok' | 'pending' | 'firing' | 'acked' | 'silenced';

export interface Rule {
  name: string;
  condition: Record<string, unknown>;
  for_ms: number;
  description?: string;
  actions?: { capture?: { seconds_before: number; seconds_after: number } }[];
}

export interface ActiveAlert {
  rule: string;
  group: Record<string, string>;
  phase: 'pending' | 'firing';
  since_ms: number;
  fired_ms: number;
  value: number;
  acknowledged_by: string | null;
  state: RuleState;
}

export interface RuleStatus {
  rule: Rule;
  state: RuleState;
  alerts: ActiveAlert[];
}

export interface Capture {
  id: string;
  state: 'requested' | 'stored' | 'failed' | 'expired';
  host: string;
  reason: string;
  rule: string | null;
  alert_ts_ms: number | null;
  requested_ms: number;
  updated_ms: number;
  before_ms?: number;
  after_ms?: number;
  bytes?: number;
  download?: string;
  error?: string;
}

export const statuses = () => api<{ rules: RuleStatus[] }>('/api/v1/alerts/status').then((r) => r.rules);
export const history = (limit = 200) =>
  api<{ events: SEvent[] }>(`/api/v1/alerts/history?limit=${limit}`).then((r) => r.events);
export const captures = () => api<{ captures: Capture[] }>('/api/v1/captures').then((r) => r.captures);
export const createRule = (r: Rule) => api<Rule>('/api/v1/alerts/rules', r);
export const acknowledge = (rule: string, group: Record<string, string>) =>
  api<ActiveAlert>('/api/v1/alerts/ack', { rule, group });
export const silence = (rule: string, matchers: TagFilter[], untilMs: number, comment: string) =>
  api<{ id: string }>('/api/v1/alerts/silences', { rule, matchers, until_ms: untilMs, comment });

/** One line saying what a rule watches. */
export function describe(r: Rule): string {
  const c = r.condition as Record<string, Record<string, unknown>>;
  if (c.metric) {
    const m = c.metric;
    const agg = typeof m.time_agg === 'string' ? m.time_agg : `p${Number((m.time_agg as { quantile: number }).quantile) * 100}`;
    const fs = ((m.filters as TagFilter[]) || []).map((f) => Object.values(f)[0].join('=')).join(', ');
    const by = ((m.group_by as string[]) || []).join(', ');
    return `${agg}(${m.metric}${fs ? ' {' + fs + '}' : ''}) over ${Number(m.window_ms || 60000) / 1000} s ${m.op} ${m.threshold}${by ? ' by ' + by : ''}`;
  }
  if (c.host_silent) return `host silent for ${c.host_silent.seconds} s`;
  if (c.check_critical) return `check ${c.check_critical.check || '(any)'} critical`;
  return JSON.stringify(r.condition);
}

/** The capture action's seconds, if the rule has one. */
export function captureOf(r: Rule): [number, number] | null {
  const c = (r.actions || []).find((a) => a.capture)?.capture;
  return c ? [c.seconds_before, c.seconds_after] : null;
}

/** The captures page's address for the alert of `rule` that fired at `ts`. */
export const captureHref = (rule: string, ts: number | string) =>
  `#/captures?rule=${encodeURIComponent(rule)}&alert=${ts}`;
