// Events: a timeline strip and the list, newest first, from /api/v1/events.
import { SEvent, api } from '../api';
import { useAnswer } from '../answer';
import { time } from '../format';
import { RANGES, Route, go } from '../route';
import { EventLink } from '../widgets/EventLink';
import { RangeSelect } from './Dashboard';

const KIND_COLORS: Record<string, string> = {
  check: '#e4572e',
  keepalive: '#29a35a',
  host: '#2f7ed8',
  container: '#a855f7',
  pod: '#f4a259',
  alert: '#d62728',
  capture: '#17becf',
};

export function Events({ route }: { route: Route }) {
  const range = route.params.get('range') || '1h';
  const kind = route.params.get('kind') || '';
  const { data, err } = useAnswer(`${range}|${kind}`, () => {
    const end = Date.now();
    const start = end - (RANGES[range] || RANGES['1h']);
    const q = new URLSearchParams({ start: String(start), end: String(end), limit: '1000' });
    if (kind) q.set('kind', kind);
    return api<{ events: SEvent[] }>(`/api/v1/events?${q}`).then((r) => ({ events: r.events, span: [start, end] as [number, number] }));
  });
  const events = data?.events ?? null;
  const span = data?.span ?? [0, 1];
  const kinds = [...new Set((events || []).map((e) => e.kind))].sort();
  return (
    <div className="page events">
      <div className="toolbar">
        <RangeSelect value={range} onChange={(r) => go('events', { range: r, kind })} />
        <label>
          Kind
          <input name="kind" defaultValue={kind} key={kind} placeholder="any" onBlur={(e) => go('events', { range, kind: e.target.value.trim() })} />
        </label>
      </div>
      {err && <div className="error">{err}</div>}
      <div className="timeline" title="events over the range">
        {(events || []).map((e, i) => (
          <span
            key={i}
            className="tick"
            title={`${time(e.ts_ms)} ${e.kind} ${e.agent}`}
            style={{
              left: `${(100 * (e.ts_ms - span[0])) / (span[1] - span[0])}%`,
              background: KIND_COLORS[e.kind] || '#666',
            }}
          />
        ))}
      </div>
      <div className="legend">
        {kinds.map((k) => (
          <span key={k}>
            <i style={{ background: KIND_COLORS[k] || '#666' }} /> {k}
          </span>
        ))}
      </div>
      <table className="grid">
        <thead>
          <tr>
            <th>time</th>
            <th>kind</th>
            <th>host</th>
            <th>tags</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {events && events.length === 0 && (
            <tr>
              <td colSpan={5} className="muted">
                no events in this range
              </td>
            </tr>
          )}
          {(events || []).map((e, i) => (
            <tr key={i} className="event" data-kind={e.kind}>
              <td>{time(e.ts_ms)}</td>
              <td>
                <span className="badge" style={{ background: KIND_COLORS[e.kind] || '#666' }}>
                  {e.kind}
                </span>
              </td>
              <td>{e.agent || '(server)'}</td>
              <td className="tags">
                {Object.entries(e.tags)
                  .filter(([k]) => k !== 'host')
                  .map(([k, v]) => (
                    <code key={k}>
                      {k}={v}
                    </code>
                  ))}
              </td>
              <td>
                <EventLink e={e} />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
