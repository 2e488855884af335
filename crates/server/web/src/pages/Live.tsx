// Live: a host's `sonde top`-like table for a scope (the host, or one
// container), from its agent. Each poll (every 2 s) keeps the agent's run
// going and brings its latest sample; leaving the page lets it stop.
import { useEffect, useState } from 'react';
import { api } from '../api';
import { Route, go } from '../route';

interface Sample {
  view: string;
  key: string;
  columns: string[];
  rows: { k: string; d: string[] }[];
  total: number;
  seconds: number;
}

interface Answer {
  id: string;
  agent: string;
  state: 'waiting' | 'live';
  updated_ms: number | null;
  sample: Sample | null;
}

export const LIVE_VIEWS: [string, string][] = [
  ['procs', 'Processes'],
  ['connections', 'Connections'],
  ['files', 'Files'],
  ['incoming_connections', 'Incoming connections'],
  ['port_bindings', 'Port bindings'],
  ['directories', 'Directories'],
  ['errors', 'Errors'],
  ['syscalls', 'System calls'],
  ['threads', 'Threads'],
];

export function Live({ route }: { route: Route }) {
  const p = route.params;
  const host = p.get('host') || '';
  const container = p.get('container') || '';
  const view = p.get('view') || 'procs';
  const [ans, setAns] = useState<Answer | null>(null);
  const [err, setErr] = useState('');

  useEffect(() => {
    let on = true;
    setAns(null);
    setErr('');
    const q = new URLSearchParams({ host, view });
    if (container) q.set('container', container);
    const poll = () =>
      api<Answer>(`/api/v1/live?${q}`)
        .then((a) => {
          if (!on) return;
          setAns(a);
          setErr('');
        })
        .catch((e) => on && setErr(e.message));
    poll();
    const t = setInterval(poll, 2000);
    return () => {
      on = false;
      clearInterval(t);
    };
  }, [host, container, view]);

  const s = ans?.sample;
  return (
    <div className="page live">
      <div className="toolbar">
        <span>
          Host <b>{host || '(none)'}</b>
          {container && (
            <>
              {' '}
              › container <b title={container}>{container.slice(0, 12)}</b>
            </>
          )}
        </span>
        <label>
          View
          <select name="view" value={view} onChange={(e) => go('live', { host, container, view: e.target.value })}>
            {LIVE_VIEWS.map(([id, name]) => (
              <option key={id} value={id}>
                {name}
              </option>
            ))}
          </select>
        </label>
        <span className="muted status" data-state={ans?.state || 'none'}>
          {ans?.state === 'live' && ans.updated_ms
            ? `live from ${ans.agent}: ${s?.total ?? 0} rows, updated ${new Date(ans.updated_ms).toLocaleTimeString(undefined, { hour12: false })}`
            : ans
              ? `waiting for ${ans.agent}…`
              : 'asking the server…'}
        </span>
      </div>
      {err && <div className="error">{err}</div>}
      {s && (
        <table className="grid live" data-view={s.view}>
          <thead>
            <tr>
              <th>{s.key}</th>
              {s.columns.map((c, i) => (
                <th key={i}>{c}</th>
              ))}
            </tr>
          </thead>
          <tbody>
            {s.rows.length === 0 && (
              <tr>
                <td colSpan={s.columns.length + 1} className="muted">
                  nothing in this scope during the last {s.seconds.toFixed(0)} s
                </td>
              </tr>
            )}
            {s.rows.map((r, i) => (
              <tr key={i} className="lrow" data-key={r.k}>
                <td>{r.k}</td>
                {r.d.map((v, j) => (
                  <td key={j}>{v}</td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}
