// The key metrics the agent sends (crates/agent: emit.rs, sink.rs) and
// how each becomes one number per group or one series per group.
import { Agg, Answer, Group, HttpError, Query, TagFilter, queries, query } from './api';

export interface KeyMetric {
  id: string;
  label: string;
  /** Summed when several (cpu.user + cpu.system). */
  metrics: string[];
  time: Agg;
  group: Agg;
  unit: string;
  filters?: TagFilter[];
}

export const KEY_METRICS: KeyMetric[] = [
  { id: 'cpu', label: 'CPU', metrics: ['cpu.user', 'cpu.system'], time: 'avg', group: 'sum', unit: 'pct' },
  { id: 'mem', label: 'Memory', metrics: ['memory.rss'], time: 'avg', group: 'sum', unit: 'bytes' },
  { id: 'net', label: 'Net', metrics: ['net.bytes'], time: 'rate', group: 'sum', unit: 'Bps' },
  { id: 'file', label: 'File', metrics: ['file.bytes'], time: 'rate', group: 'sum', unit: 'Bps' },
  { id: 'req', label: 'HTTP req', metrics: ['http.requests'], time: 'rate', group: 'sum', unit: 'rps' },
  { id: 'lat', label: 'p95 latency', metrics: ['http.latency'], time: { quantile: 0.95 }, group: 'merge', unit: 'ns' },
  {
    id: 'err',
    label: 'HTTP 5xx',
    metrics: ['http.requests'],
    time: 'rate',
    group: 'sum',
    unit: 'rps',
    filters: [{ eq: ['http.status_class', '5xx'] }],
  },
];

export const GROUPINGS: Record<string, string[]> = {
  logical: ['k8s.ns.name', 'k8s.deployment.name', 'k8s.pod.name', 'container.name'],
  physical: ['host.hostname', 'container.name'],
};

export const TAG_LABELS: Record<string, string> = {
  'k8s.ns.name': 'namespace',
  'k8s.deployment.name': 'deployment',
  'k8s.pod.name': 'pod',
  'container.name': 'container',
  'host.hostname': 'host',
  'proc.name': 'process',
};

export const plural = (w: string) => (/(s|x|sh|ch)$/.test(w) ? `${w}es` : `${w}s`);

export function label(tag: string): string {
  return TAG_LABELS[tag] || tag;
}

/** The scope filter for a grouping: host-level series for host-only groupings. */
export function scopeFilter(keys: string[]): TagFilter {
  return { eq: ['scope', keys.every((k) => k.startsWith('host.')) ? 'host' : 'container'] };
}

type Base = Omit<Query, 'metric' | 'time_agg' | 'group_agg'>;

/** A key metric's queries (one per metric it sums). */
function keyQueries(m: KeyMetric, base: Base): Query[] {
  return m.metrics.map((metric) => ({
    ...base,
    metric,
    time_agg: m.time,
    group_agg: m.group,
    filters: [...(base.filters || []), ...(m.filters || [])],
  }));
}

const NO_DATA: Answer = { resolution: 'second', groups: [] };

/** Adds a key metric's answers group by group. */
function combine(answers: Answer[]): Group[] {
  if (answers.length === 1) return answers[0].groups;
  const byKey = new Map<string, Group>();
  for (const a of answers) {
    for (const g of a.groups) {
      const k = JSON.stringify(g.tags);
      const cur = byKey.get(k);
      if (!cur) {
        byKey.set(k, { tags: g.tags, points: g.points.map((p) => [p[0], p[1]]) });
        continue;
      }
      const at = new Map(cur.points.map((p) => [p[0], p]));
      for (const [t, v] of g.points) {
        const p = at.get(t);
        if (p) p[1] += v;
        else cur.points.push([t, v]);
      }
      cur.points.sort((a, b) => a[0] - b[0]);
    }
  }
  return [...byKey.values()];
}

/** Runs a key metric's queries and adds their answers group by group
 *  (a metric the store does not hold counts as no data). */
export async function runKey(m: KeyMetric, base: Base): Promise<Group[]> {
  const answers = await Promise.all(
    keyQueries(m, base).map((q) =>
      query(q).catch((e) => {
        if (e.status === 404) return NO_DATA;
        throw e;
      }),
    ),
  );
  return combine(answers);
}

/** Runs several key metrics' queries in one call: each metric's groups. */
export async function runKeys(ms: KeyMetric[], base: Base): Promise<Group[][]> {
  const per = ms.map((m) => keyQueries(m, base));
  const answers = await queries(per.flat());
  let i = 0;
  return per.map((qs) =>
    combine(
      qs.map(() => {
        const a = answers[i++];
        if (!a || !('error' in a)) return a || NO_DATA;
        if (a.status === 404) return NO_DATA;
        throw new HttpError(a.status, a.error);
      }),
    ),
  );
}

export function groupName(g: Group, by: string[]): string {
  if (by.length === 0) return 'all';
  return by.map((k) => g.tags[k] || '(none)').join(' / ');
}
