// Explore: one level of the chosen grouping at a time, each group's key
// metrics over the range; a click drills into the group, and a leaf opens
// its dashboard.
import { useEffect, useState } from 'react';
import { TagFilter } from '../api';
import { fmt } from '../format';
import { GROUPINGS, KEY_METRICS, label, plural, runKeys, scopeFilter } from '../metrics';
import { RANGES, Route, go, href } from '../route';
import { RangeSelect } from './Dashboard';

interface Row {
  name: string;
  values: Record<string, number | undefined>;
}

export function Explore({ route }: { route: Route }) {
  const p = route.params;
  const preset = p.get('preset') || 'logical';
  const keys = (p.get('group') || GROUPINGS[preset]?.join(',') || GROUPINGS.logical.join(',')).split(',').filter(Boolean);
  const path = p.getAll('at');
  const range = p.get('range') || '15m';
  const depth = Math.min(path.length, keys.length - 1);
  const by = keys[depth];
  const [rows, setRows] = useState<Row[] | null>(null);
  const [err, setErr] = useState('');
  const [custom, setCustom] = useState(keys.join(' > '));

  const state = (over: Record<string, string | string[]>) => {
    const base: Record<string, string | string[]> = { preset, range, at: path };
    if (preset === 'custom') base.group = keys.join(',');
    return { ...base, ...over };
  };
  const filters: TagFilter[] = [scopeFilter(keys), ...path.slice(0, depth).map((v, i) => ({ eq: [keys[i], v] }) as TagFilter)];

  useEffect(() => {
    let live = true;
    setRows(null);
    setErr('');
    const end = Date.now();
    const base = { start_ms: end - (RANGES[range] || RANGES['15m']), end_ms: end, step_ms: 0, filters, group_by: [by] };
    runKeys(KEY_METRICS, base)
      .then((answers) => {
        if (!live) return;
        const byName = new Map<string, Row>();
        answers.forEach((groups, i) => {
          for (const g of groups) {
            const name = g.tags[by] ?? '';
            const r = byName.get(name) || { name, values: {} };
            r.values[KEY_METRICS[i].id] = g.points[0]?.[1];
            byName.set(name, r);
          }
        });
        setRows([...byName.values()].sort((a, b) => (b.values.cpu ?? -1) - (a.values.cpu ?? -1) || a.name.localeCompare(b.name)));
      })
      .catch((e) => live && setErr(e.message));
    return () => {
      live = false;
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [route.params.toString()]);

  const open = (name: string) => {
    if (depth + 1 < keys.length) {
      go('explore', state({ at: [...path.slice(0, depth), name] }));
    } else {
      const f = [...path.slice(0, depth), name].map((v, i) => `${keys[i]}=${v}`);
      go('dashboard', { preset: keys[depth] === 'host.hostname' ? 'host' : 'container', f, range });
    }
  };

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
      </nav>
      {err && <div className="error">{err}</div>}
      {!rows && !err && <div className="muted">loading…</div>}
      {rows && (
        <table className="grid" data-level={by}>
          <thead>
            <tr>
              <th>{label(by)}</th>
              {KEY_METRICS.map((m) => (
                <th key={m.id} className="num">
                  {m.label}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {rows.length === 0 && (
              <tr>
                <td colSpan={KEY_METRICS.length + 1} className="muted">
                  no data in this range
                </td>
              </tr>
            )}
            {rows.map((r) => (
              <tr key={r.name} className="row" data-name={r.name} onClick={() => open(r.name)}>
                <td>
                  <a
                    href={
                      depth + 1 < keys.length
                        ? href('explore', state({ at: [...path.slice(0, depth), r.name] }))
                        : undefined
                    }
                    onClick={(e) => e.preventDefault()}
                  >
                    {r.name || '(none)'}
                  </a>
                </td>
                {KEY_METRICS.map((m) => (
                  <td key={m.id} className="num">
                    {fmt(r.values[m.id], m.unit)}
                  </td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}
