// Captures: the flight-recorder captures asked for (by a user or an
// alert), their state, and an authenticated download link once stored.
// `?rule=R&alert=TS` shows the ones the alert of R that fired at TS asked for.
import { useEffect, useState } from 'react';
import { Capture, captures } from '../alerts';
import { fmt, time } from '../format';
import { Route, href } from '../route';
import { StateBadge } from '../widgets/StateBadge';

export function Captures({ route }: { route: Route }) {
  const rule = route.params.get('rule') || '';
  const alert = route.params.get('alert') || '';
  const [rows, setRows] = useState<Capture[] | null>(null);
  const [err, setErr] = useState('');
  const [tick, setTick] = useState(0);
  useEffect(() => {
    captures()
      .then((c) => (setRows(c), setErr('')))
      .catch((e) => setErr(e.message));
    const t = setTimeout(() => setTick((n) => n + 1), 3000);
    return () => clearTimeout(t);
  }, [tick]);
  const shown = (rows || []).filter((c) => (!rule || c.rule === rule) && (!alert || String(c.alert_ts_ms) === alert));
  return (
    <div className="page captures">
      {(rule || alert) && (
        <div className="toolbar">
          <span>
            Captures of alert <code>{rule}</code>
            {alert && <>fired at {time(Number(alert))}</>}
          </span>
          <a href={href('captures')}>all captures</a>
        </div>
      )}
      {err && <div className="error">{err}</div>}
      <table className="grid">
        <thead>
          <tr>
            <th>requested</th>
            <th>state</th>
            <th>host</th>
            <th>rule</th>
            <th>reason</th>
            <th className="num">span</th>
            <th className="num">size</th>
            <th>file</th>
          </tr>
        </thead>
        <tbody>
          {rows && shown.length === 0 && (
            <tr>
              <td colSpan={8} className="muted">
                no capture {rule ? 'for this alert ' : ''}yet
              </td>
            </tr>
          )}
          {shown.map((c) => (
            <tr key={c.id} className="capture" data-id={c.id} data-state={c.state}>
              <td>{time(c.requested_ms)}</td>
              <td>
                <StateBadge state={c.state} />
                {c.error && <span className="muted"> {c.error}</span>}
              </td>
              <td>{c.host}</td>
              <td>{c.rule ? <a href={href('alerts')}>{c.rule}</a> : '–'}</td>
              <td>{c.reason}</td>
              <td className="num">
                {c.before_ms !== undefined ? `−${Number(c.before_ms) / 1000} s / +${Number(c.after_ms) / 1000} s` : '–'}
              </td>
              <td className="num">{c.bytes !== undefined ? fmt(c.bytes, 'bytes') : '–'}</td>
              <td>
                {c.download ? (
                  <a className="download" href={c.download} download={`sonde-${c.id}.scap`}>
                    download
                  </a>
                ) : (
                  '–'
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
