// Hosts: the agents, their keepalive state and subscriptions.
import { useEffect, useState } from 'react';
import { Host, api } from '../api';
import { ago } from '../format';
import { href } from '../route';

export function Hosts() {
  const [hosts, setHosts] = useState<Host[] | null>(null);
  const [err, setErr] = useState('');
  useEffect(() => {
    const load = () =>
      api<{ hosts: Host[] }>('/api/v1/hosts')
        .then((r) => (setHosts(r.hosts), setErr('')))
        .catch((e) => setErr(e.message));
    load();
    const t = setInterval(load, 5000);
    return () => clearInterval(t);
  }, []);
  return (
    <div className="page hosts">
      {err && <div className="error">{err}</div>}
      <table className="grid">
        <thead>
          <tr>
            <th>agent</th>
            <th>state</th>
            <th>last batch</th>
            <th>last keepalive</th>
            <th className="num">interval</th>
            <th>subscriptions</th>
          </tr>
        </thead>
        <tbody>
          {hosts && hosts.length === 0 && (
            <tr>
              <td colSpan={6} className="muted">
                no agent has reported yet
              </td>
            </tr>
          )}
          {(hosts || []).map((h) => (
            <tr key={h.agent} className="host" data-agent={h.agent}>
              <td>
                <a href={href('dashboard', { preset: 'host', f: [`host.hostname=${h.agent}`] })}>{h.agent}</a>
              </td>
              <td>
                <span className={`badge status-${h.status}`}>{h.status}</span>
              </td>
              <td>{ago(h.last_batch_ms)}</td>
              <td>{ago(h.last_keepalive_ms)}</td>
              <td className="num">{h.interval_ms ? `${h.interval_ms / 1000} s` : '–'}</td>
              <td>{h.subscriptions.join(', ')}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
