// Explore: one level of the chosen grouping at a time, each group's key
// metrics over the range; a click drills into the group, a container into
// its processes (the agent's process-scope series); a leaf's row links to
// its dashboard, and a host's or container's to its live tables.
import { useEffect, useState } from 'react';
import { TagFilter, queries } from '../api';
import { fmt } from '../format';
import { GROUPINGS, KEY_METRICS, label, plural, runKeys, scopeFilter } from '../metrics';
import { RANGES, Route, go, href } from '../route';
import { RangeSelect } from './Dashboard';

interface Row {
  name: string;
  /** The process level: the process id. */
  pid?: string;
  values: Record<string, number | undefined>;
}

/** Where a row's live tables are: its host, and its container's id. */
interface Where {
  host: string;
  container?: string;
}

const isCtr = (k: string) => k.startsWith('container.');
const PROC_KEYS = ['proc.name', 'proc.pid', 'host.hostname', 'container.id'];

/** Host and container id of each group at a container level (one call). */
async function locate(by: string, base: object): Promise<Map<string, Where>> {
  const [a] = await queries([
    { ...(base as { start_ms: number; end_ms: number; step_ms: number }), metric: 'cpu.user', time_agg: 'avg', group_agg: 'sum', group_by: [by, 'host.hostname', 'container.id'] },
  ]);
  const m = new Map<string, Where>();
  if (!a || 'error' in a) return m;
  for (const g of a.groups) {
    const name = g.tags[by] ?? '';
    if (!m.has(name) && g.tags['host.hostname']) m.set(name, { host: g.tags['host.hostname'], container: g.tags['container.id'] });
  }
  return m;
}

const liveHref = (w: Where) => href('live', { host: w.host, container: w.container || '', view: 'procs' });

export function Explore({ route }: { route: Route }) {
  const p = route.params;
  const preset = p.get('preset') || 'logical';
  const keys = (p.get('group') || GROUPINGS[preset]?.join(',') || GROUPINGS.logical.join(',')).split(',').filter(Boolean);
  const path = p.getAll('at');
  const range = p.get('range') || '15m';
  // below a container level: its processes
  const procs = path.length >= keys.length && keys.some(isCtr);
  const depth = procs ? keys.length : Math.min(path.length, keys.length - 1);
  const by = procs ? 'proc.name' : keys[depth];
  // rows belong to the route that asked for them: right after a click the
  // new level renders before its answer, and must not show the old rows
  const ask = route.params.toString();
  const [answer, setAnswer] = useState<{ ask: string; rows: Row[] } | null>(null);
  const rows = answer && answer.ask === ask ? answer.rows : null;
  const [where, setWhere] = useState<Map<string, Where>>(new Map());
  const [err, setErr] = useState('');
  const [custom, setCustom] = useState(keys.join(' > '));

  const state = (over: Record<string, string | string[]>) => {
    const base: Record<string, string | string[]> = { preset, range, at: path };
    if (preset === 'custom') base.group = keys.join(',');
    return { ...base, ...over };
  };
  const scope: TagFilter = procs ? { eq: ['scope', 'process'] } : scopeFilter(keys);
  const filters: TagFilter[] = [scope, ...path.slice(0, depth).map((v, i) => ({ eq: [keys[i], v] }) as TagFilter)];

  useEffect(() => {
    let live = true;
    setAnswer(null);
    setErr('');
    const end = Date.now();
    const group_by = procs ? PROC_KEYS : [by];
    const base = { start_ms: end - (RANGES[range] || RANGES['15m']), end_ms: end, step_ms: 0, filters, group_by };
    setWhere(new Map());
    if (isCtr(by)) locate(by, { ...base, group_by: undefined }).then((m) => live && setWhere(m)).catch(() => {});
    runKeys(KEY_METRICS, base)
      .then((answers) => {
        if (!live) return;
        const byName = new Map<string, Row>();
        const found = new Map<string, Where>();
        answers.forEach((groups, i) => {
          for (const g of groups) {
            const name = g.tags[by] ?? '';
            const pid = procs ? g.tags['proc.pid'] : undefined;
            const key = procs ? `${name}/${pid}` : name;
            const r = byName.get(key) || { name, pid, values: {} };
            r.values[KEY_METRICS[i].id] = g.points[0]?.[1];
            byName.set(key, r);
            if (procs && g.tags['host.hostname']) found.set('', { host: g.tags['host.hostname'], container: g.tags['container.id'] });
          }
        });
        if (procs) setWhere(found);
        const sorted = [...byName.values()].sort((a, b) => (b.values.cpu ?? -1) - (a.values.cpu ?? -1) || a.name.localeCompare(b.name));
        setAnswer({ ask, rows: sorted });
      })
      .catch((e) => live && setErr(e.message));
    return () => {
      live = false;
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [ask]);

  const deeper = depth + 1 < keys.length || (depth + 1 === keys.length && keys.some(isCtr));
  const open = (name: string) => {
    if (procs) return;
    if (deeper) go('explore', state({ at: [...path.slice(0, depth), name] }));
    else go('dashboard', dashState(name));
  };
  const dashState = (name: string) => {
    const f = [...path.slice(0, depth), name].map((v, i) => `${keys[i]}=${v}`);
    return { preset: keys[depth] === 'host.hostname' ? 'host' : 'container', f, range };
  };
  const rowWhere = (name: string): Where | undefined => (by === 'host.hostname' ? { host: name } : where.get(name));
  const here = procs ? where.get('') : undefined;

  return (
    <div className="page explore">
      <div className="toolbar">
        <label>
          Grouping
          <select
            name="preset"
            value={preset}
            onChange={(e) => go('explore', { preset: e.target.value, range })}
          >
            <option value="logical">logical: namespace › deployment › pod › container</option>
            <option value="physical">physical: host › container</option>
            <option value="custom">custom tag order…</option>
          </select>
        </label>
        {preset === 'custom' && (
          <form
            onSubmit={(e) => {
              e.preventDefault();
              const g = custom.split(/[>,]/).map((s) => s.trim()).filter(Boolean);
              go('explore', { preset: 'custom', group: g.join(','), range });
            }}
          >
            <input name="group" size={50} value={custom} onChange={(e) => setCustom(e.target.value)} />
            <button type="submit">Group</button>
          </form>
        )}
        <RangeSelect value={range} onChange={(r) => go('explore', state({ range: r }))} />
      </div>
      <nav className="crumbs">
        <a href={href('explore', state({ at: [] }))}>all</a>
        {path.slice(0, depth).map((v, i) => (
          <span key={i}>
            {' › '}
            <a href={href('explore', state({ at: path.slice(0, i + 1) }))}>
              {label(keys[i])} <b>{v || '(none)'}</b>
            </a>
          </span>
        ))}
        {' › '}
        <span className="level">{plural(label(by))}</span>
        {here && (
          <a className="live-link" href={liveHref(here)}>
            {' '}
            Live tables of this container
          </a>
        )}
      </nav>
      {err && <div className="error">{err}</div>}
      {!rows && !err && <div className="muted">loading…</div>}
      {rows && (
        <table className="grid" data-level={by}>
          <thead>
            <tr>
              <th>{label(by)}</th>
              {procs && <th className="num">PID</th>}
              {KEY_METRICS.map((m) => (
                <th key={m.id} className="num">
                  {m.label}
                </th>
              ))}
              {!procs && <th />}
            </tr>
          </thead>
          <tbody>
            {rows.length === 0 && (
              <tr>
                <td colSpan={KEY_METRICS.length + 2} className="muted">
                  no data in this range
                </td>
              </tr>
            )}
            {rows.map((r) => (
              <tr key={`${r.name}/${r.pid ?? ''}`} className="row" data-name={r.name} data-pid={r.pid} onClick={() => open(r.name)}>
                <td>
                  <a
                    href={deeper && !procs ? href('explore', state({ at: [...path.slice(0, depth), r.name] })) : undefined}
                    onClick={(e) => e.preventDefault()}
                  >
                    {r.name || '(none)'}
                  </a>
                </td>
                {procs && <td className="num">{r.pid}</td>}
                {KEY_METRICS.map((m) => (
                  <td key={m.id} className="num">
                    {fmt(r.values[m.id], m.unit)}
                  </td>
                ))}
                {!procs && (
                  <td className="links" onClick={(e) => e.stopPropagation()}>
                    {(by === 'host.hostname' || depth + 1 === keys.length) && (
                      <a className="dash" href={href('dashboard', dashState(r.name))}>
                        dashboard
                      </a>
                    )}{' '}
                    {rowWhere(r.name) && (
                      <a className="live" href={liveHref(rowWhere(r.name) as Where)}>
                        live
                      </a>
                    )}
                  </td>
                )}
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}
