// Alerts: the rules with their state and active alerts (acknowledge,
// silence), the form creating one (editors and admins), and the history
// of transitions with a link to the capture a firing asked for.
import { useEffect, useState } from 'react';
import { Me, SEvent } from '../api';
import { RuleStatus, acknowledge, captureHref, captureOf, describe, history, silence, statuses } from '../alerts';
import { time } from '../format';
import { RuleForm } from '../widgets/RuleForm';
import { StateBadge } from '../widgets/StateBadge';
import { Tags } from '../widgets/Tags';

const SILENCE_MS = 3_600_000;

function RuleRow(props: { s: RuleStatus; canEdit: boolean; act: (f: () => Promise<unknown>) => void }) {
  const { s, canEdit, act } = props;
  const cap = captureOf(s.rule);
  return (
    <tr className="rule" data-rule={s.rule.name} data-state={s.state}>
      <td>{s.rule.name}</td>
      <td className="wrap">{describe(s.rule)}</td>
      <td className="num">{s.rule.for_ms / 1000} s</td>
      <td>{cap ? `${cap[0]} s before, ${cap[1]} s after` : '–'}</td>
      <td>
        <StateBadge state={s.state} />
      </td>
      <td className="wrap">
        {s.alerts.map((a, i) => (
          <div key={i} className="alert" data-state={a.state}>
            <StateBadge state={a.state} /> <Tags tags={a.group} /> value {a.value.toPrecision(4)}
            {a.acknowledged_by && <span className="muted"> acked by {a.acknowledged_by}</span>}
            {canEdit && a.phase === 'firing' && !a.acknowledged_by && (
              <button className="small" onClick={() => act(() => acknowledge(a.rule, a.group))}>
                Acknowledge
              </button>
            )}
          </div>
        ))}
      </td>
      <td>
        {canEdit && s.state !== 'silenced' && (
          <button className="small" onClick={() => act(() => silence(s.rule.name, [], Date.now() + SILENCE_MS, 'from the UI'))}>
            Silence 1 h
          </button>
        )}
      </td>
    </tr>
  );
}

function History({ events }: { events: SEvent[] }) {
  return (
    <table className="grid history">
      <thead>
        <tr>
          <th>time</th>
          <th>rule</th>
          <th>state</th>
          <th>group</th>
          <th className="num">value</th>
          <th>capture</th>
        </tr>
      </thead>
      <tbody>
        {events.length === 0 && (
          <tr>
            <td colSpan={6} className="muted">
              no alert has fired in the last day
            </td>
          </tr>
        )}
        {events.map((e, i) => {
          const rule = e.tags.rule || '';
          const hasCapture = e.tags.state === 'firing' && JSON.stringify(e.body).includes('"capture"');
          return (
            <tr key={i} className="transition" data-rule={rule} data-state={e.tags.state} data-ts={e.ts_ms}>
              <td>{time(e.ts_ms)}</td>
              <td>{rule}</td>
              <td>
                <StateBadge state={e.tags.state || ''} />
                {e.tags.silenced === 'true' && <span className="muted"> silenced</span>}
              </td>
              <td>
                <Tags tags={e.tags} hide={['rule', 'state', 'value', 'silenced']} />
              </td>
              <td className="num">{e.tags.value}</td>
              <td>{hasCapture && <a href={captureHref(rule, e.ts_ms)}>capture</a>}</td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}

export function Alerts({ me }: { me: Me }) {
  const [rules, setRules] = useState<RuleStatus[] | null>(null);
  const [events, setEvents] = useState<SEvent[]>([]);
  const [err, setErr] = useState('');
  const [tick, setTick] = useState(0);
  const canEdit = me.role !== 'viewer';
  useEffect(() => {
    Promise.all([statuses(), history()])
      .then(([r, h]) => (setRules(r), setEvents(h), setErr('')))
      .catch((e) => setErr(e.message));
    const t = setTimeout(() => setTick((n) => n + 1), 3000);
    return () => clearTimeout(t);
  }, [tick]);
  const act = (f: () => Promise<unknown>) =>
    f()
      .then(() => setTick((n) => n + 1))
      .catch((e) => setErr(e.message));
  return (
    <div className="page alerts">
      {canEdit ? (
        <RuleForm onCreated={() => setTick((n) => n + 1)} />
      ) : (
        <p className="muted readonly">Viewers see the rules; editors and admins create them.</p>
      )}
      {err && <div className="error">{err}</div>}
      <h2>Rules</h2>
      <table className="grid rules">
        <thead>
          <tr>
            <th>rule</th>
            <th>condition</th>
            <th className="num">for</th>
            <th>capture</th>
            <th>state</th>
            <th>alerts</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {rules && rules.length === 0 && (
            <tr>
              <td colSpan={7} className="muted">
                no rule yet
              </td>
            </tr>
          )}
          {(rules || []).map((s) => (
            <RuleRow key={s.rule.name} s={s} canEdit={canEdit} act={act} />
          ))}
        </tbody>
      </table>
      <h2>History</h2>
      <History events={events} />
    </div>
  );
}
