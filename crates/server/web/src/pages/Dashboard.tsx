// Dashboards: the default ones per level (host, container, pod, service:
// time-series panels and a top-N table over a scope of tag filters) and
// the saved ones (SavedDashboard.tsx), with range and refresh controls;
// every setting is in the URL.
import { useEffect, useState } from 'react';
import { Agg, Group, Me, TagFilter, api, parseFilters, query } from '../api';
import { SavedDashboard, listDashboards } from '../dashboards';
import { Chart } from '../Chart';
import { fmt } from '../format';
import { KEY_METRICS, KeyMetric, groupName, label, plural, runKey } from '../metrics';
import { RANGES, Route, go, stepFor } from '../route';
import { Saved } from './SavedDashboard';

export interface Panel {
  title: string;
  key: KeyMetric;
  by: string[];
}

const K = (id: string) => KEY_METRICS.find((m) => m.id === id) as KeyMetric;

const PRESETS: Record<string, { scope: string; panels: Panel[]; top: { scope: string; by: string } }> = {
  host: {
    scope: 'host',
    panels: [
      { title: 'CPU', key: K('cpu'), by: [] },
      { title: 'Memory (RSS)', key: K('mem'), by: [] },
      { title: 'Network bytes', key: K('net'), by: ['direction'] },
      { title: 'File bytes', key: K('file'), by: ['direction'] },
    ],
    top: { scope: 'container', by: 'container.name' },
  },
  container: {
    scope: 'container',
    panels: [
      { title: 'CPU', key: K('cpu'), by: [] },
      { title: 'Memory (RSS)', key: K('mem'), by: [] },
      { title: 'Network bytes', key: K('net'), by: ['direction'] },
      { title: 'File bytes', key: K('file'), by: ['direction'] },
      { title: 'HTTP requests', key: K('req'), by: ['http.status_class'] },
      { title: 'HTTP p95 latency', key: K('lat'), by: [] },
    ],
    top: { scope: 'process', by: 'proc.name' },
  },
  pod: {
    scope: 'container',
    panels: [
      { title: 'CPU', key: K('cpu'), by: ['k8s.pod.name'] },
      { title: 'Memory (RSS)', key: K('mem'), by: ['k8s.pod.name'] },
      { title: 'Network bytes', key: K('net'), by: ['k8s.pod.name'] },
      { title: 'HTTP requests', key: K('req'), by: ['k8s.pod.name'] },
      { title: 'HTTP p95 latency', key: K('lat'), by: ['k8s.pod.name'] },
    ],
    top: { scope: 'container', by: 'container.name' },
  },
  service: {
    scope: 'container',
    panels: [
      { title: 'HTTP requests', key: K('req'), by: ['k8s.deployment.name'] },
      { title: 'HTTP p95 latency', key: K('lat'), by: ['k8s.deployment.name'] },
      { title: 'HTTP 5xx', key: K('err'), by: ['k8s.deployment.name'] },
      { title: 'CPU', key: K('cpu'), by: ['k8s.deployment.name'] },
    ],
    top: { scope: 'container', by: 'k8s.pod.name' },
  },
};

/** The dashboard chooser: the default ones, then the saved ones. */
export function DashboardPicker(props: { value: string; range: string; canEdit: boolean; onPreset?: (p: string) => void }) {
  const [saved, setSaved] = useState<SavedDashboard[]>([]);
  // read again when the choice changes (a dashboard just saved is listed)
  useEffect(() => {
    listDashboards()
      .then(setSaved)
      .catch(() => {});
  }, [props.value]);
  const pick = (v: string) => {
    if (v.startsWith('id:')) go('dashboard', { id: v.slice(3), range: props.range });
    else if (props.onPreset) props.onPreset(v);
    else go('dashboard', { preset: v, range: props.range });
  };
  return (
    <label>
      Dashboard
      <select name="preset" value={props.value} onChange={(e) => pick(e.target.value)}>
        <optgroup label="default">
          {Object.keys(PRESETS).map((k) => (
            <option key={k} value={k}>
              {k}
            </option>
          ))}
        </optgroup>
        {saved.length > 0 && (
          <optgroup label="saved">
            {saved.map((d) => (
              <option key={d.id} value={`id:${d.id}`}>
                {d.name}
              </option>
            ))}
          </optgroup>
        )}
        {props.canEdit && <option value="id:new">New dashboard…</option>}
      </select>
    </label>
  );
}

export function RefreshSelect(props: { value: number; onChange: (r: string) => void }) {
  return (
    <label>
      Refresh
      <select name="refresh" value={String(props.value)} onChange={(e) => props.onChange(e.target.value)}>
        <option value="0">off</option>
        <option value="10">10 s</option>
        <option value="30">30 s</option>
        <option value="60">1 min</option>
      </select>
    </label>
  );
}

export function RangeSelect(props: { value: string; onChange: (r: string) => void }) {
  return (
    <label>
      Range
      <select name="range" value={props.value} onChange={(e) => props.onChange(e.target.value)}>
        {Object.keys(RANGES).map((r) => (
          <option key={r} value={r}>
            last {r}
          </option>
        ))}
      </select>
    </label>
  );
}

export function useTick(refresh: number): number {
  const [tick, setTick] = useState(0);
  useEffect(() => {
    if (!refresh) return;
    const t = setInterval(() => setTick((n) => n + 1), refresh * 1000);
    return () => clearInterval(t);
  }, [refresh]);
  return tick;
}

export function PanelView(props: { panel: Panel; filters: TagFilter[]; range: string; tick: number }) {
  const [groups, setGroups] = useState<Group[] | null>(null);
  const [err, setErr] = useState('');
  const { panel } = props;
  const fkey = JSON.stringify(props.filters);
  useEffect(() => {
    let live = true;
    const end = Date.now();
    const r = RANGES[props.range] || RANGES['15m'];
    runKey(panel.key, { start_ms: end - r, end_ms: end, step_ms: stepFor(r), filters: props.filters, group_by: panel.by })
      .then((g) => {
        if (live) {
          setGroups(g);
          setErr('');
        }
      })
      .catch((e) => live && setErr(e.message));
    return () => {
      live = false;
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [fkey, props.range, props.tick, panel.title, panel.key.id, panel.by.join(',')]);
  const names = (groups || []).map((g) => groupName(g, panel.by));
  const span: [number, number] = [Date.now() - (RANGES[props.range] || RANGES['15m']), Date.now()];
  return (
    <div className="panel" data-title={panel.title}>
      <h3>
        {panel.title} <span className="muted">{panel.key.metrics.join(' + ')}</span>
      </h3>
      {err && <div className="error">{err}</div>}
      {groups && groups.length === 0 && <div className="muted empty">no data</div>}
      {groups && groups.length > 0 && <Chart groups={groups} names={names} unit={panel.key.unit} range={span} />}
    </div>
  );
}

export function TopTable(props: {
  metric: string;
  agg: Agg;
  unit: string;
  by: string;
  filters: TagFilter[];
  range: string;
  tick: number;
  title?: string;
  n?: number;
}) {
  const [groups, setGroups] = useState<Group[] | null>(null);
  const [err, setErr] = useState('');
  const fkey = JSON.stringify(props.filters);
  useEffect(() => {
    let live = true;
    const end = Date.now();
    query({
      metric: props.metric,
      start_ms: end - (RANGES[props.range] || RANGES['15m']),
      end_ms: end,
      step_ms: 0,
      filters: props.filters,
      group_by: [props.by],
      time_agg: props.agg,
      group_agg: typeof props.agg === 'object' ? 'merge' : props.agg === 'rate' ? 'sum' : 'sum',
      top: [props.n || 10, 'highest'],
    })
      .then((a) => live && (setGroups(a.groups), setErr('')))
      .catch((e) => live && (setErr(e.message), setGroups([])));
    return () => {
      live = false;
    };
  }, [props.metric, props.by, fkey, props.range, props.tick, props.n, JSON.stringify(props.agg)]);
  return (
    <div className="panel top" data-title={props.title || `top ${props.by}`}>
      <h3>
        {props.title || `Top ${plural(label(props.by))} by ${props.metric}`}
        {props.title && <span className="muted">{props.metric}</span>}
      </h3>
      {err && <div className="error">{err}</div>}
      <table className="grid">
        <tbody>
          {(groups || []).map((g) => (
            <tr key={JSON.stringify(g.tags)}>
              <td>{g.tags[props.by] || '(none)'}</td>
              <td className="num">{fmt(g.points[0]?.[1], props.unit)}</td>
            </tr>
          ))}
          {groups && groups.length === 0 && !err && (
            <tr>
              <td className="muted">no data</td>
            </tr>
          )}
        </tbody>
      </table>
    </div>
  );
}

const AGGS: Record<string, Agg> = { avg: 'avg', sum: 'sum', max: 'max', rate: 'rate', p95: { quantile: 0.95 }, p50: { quantile: 0.5 } };

export function Dashboard({ route, me }: { route: Route; me: Me }) {
  const id = route.params.get('id');
  if (id) return <Saved id={id} route={route} me={me} />;
  return <Preset route={route} me={me} />;
}

function Preset({ route, me }: { route: Route; me: Me }) {
  const p = route.params;
  const preset = p.get('preset') || 'container';
  const def = PRESETS[preset] || PRESETS.container;
  const range = p.get('range') || '15m';
  const refresh = Number(p.get('refresh') || '0');
  const f = p.getAll('f');
  const metric = p.get('m') || '';
  const by = p.get('by') || 'container.name';
  const agg = p.get('agg') || 'avg';
  const tick = useTick(refresh);
  const [names, setNames] = useState<string[]>([]);
  const [fText, setFText] = useState(f.join(', '));
  useEffect(() => setFText(f.join(', ')), [f.join(',')]);
  useEffect(() => {
    api<{ metrics: string[] }>('/api/v1/metrics')
      .then((m) => setNames(m.metrics))
      .catch(() => {});
  }, []);
  const set = (over: Record<string, string | string[]>) => {
    const s: Record<string, string | string[]> = { preset, range, refresh: String(refresh), f, m: metric, by, agg };
    go('dashboard', { ...s, ...over });
  };
  const filters = [{ eq: ['scope', def.scope] } as TagFilter, ...parseFilters(f)];
  const topFilters = [{ eq: ['scope', def.top.scope] } as TagFilter, ...parseFilters(f)];
  const customFilters = parseFilters(f);
  const customAgg = AGGS[agg] || 'avg';
  const custom: Panel | null = metric
    ? {
        title: `${metric} (${agg}) by ${by || 'all'}`,
        key: { id: 'custom', label: metric, metrics: [metric], time: customAgg, group: typeof customAgg === 'object' ? 'merge' : 'sum', unit: '' },
        by: by ? [by] : [],
      }
    : null;
  return (
    <div className="page dashboard">
      <div className="toolbar">
        <DashboardPicker value={preset} range={range} canEdit={me.role !== 'viewer'} onPreset={(v) => set({ preset: v })} />
        <form
          onSubmit={(e) => {
            e.preventDefault();
            set({ f: fText.split(',').map((s) => s.trim()).filter(Boolean) });
          }}
        >
          <label>
            Scope
            <input name="scope" size={48} placeholder="tag=value, tag=value" value={fText} onChange={(e) => setFText(e.target.value)} />
          </label>
        </form>
        <RangeSelect value={range} onChange={(r) => set({ range: r })} />
        <RefreshSelect value={refresh} onChange={(r) => set({ refresh: r })} />
      </div>
      <div className="scope">
        {f.length === 0 ? <span className="muted">every {def.scope}</span> : f.map((x) => <code key={x}>{x}</code>)}
      </div>
      <div className="panels">
        {def.panels.map((pn) => (
          <PanelView key={pn.title} panel={pn} filters={filters} range={range} tick={tick} />
        ))}
        <TopTable metric="cpu.user" agg="avg" unit="pct" by={def.top.by} filters={topFilters} range={range} tick={tick} />
      </div>
      <h2>Any metric</h2>
      <div className="toolbar">
        <label>
          Metric
          <select name="metric" value={metric} onChange={(e) => set({ m: e.target.value })}>
            <option value="">choose…</option>
            {names.map((n) => (
              <option key={n}>{n}</option>
            ))}
          </select>
        </label>
        <label>
          Aggregation
          <select name="agg" value={agg} onChange={(e) => set({ agg: e.target.value })}>
            {Object.keys(AGGS).map((a) => (
              <option key={a}>{a}</option>
            ))}
          </select>
        </label>
        <label>
          Group by
          <input name="by" defaultValue={by} key={by} onBlur={(e) => set({ by: e.target.value.trim() })} />
        </label>
      </div>
      {custom && (
        <div className="panels">
          <PanelView panel={custom} filters={customFilters} range={range} tick={tick} />
          {by && <TopTable metric={metric} agg={customAgg} unit="" by={by} filters={customFilters} range={range} tick={tick} />}
        </div>
      )}
    </div>
  );
}
