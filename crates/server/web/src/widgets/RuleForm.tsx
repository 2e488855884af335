// The form that creates an alert rule: a metric condition (scope, group
// by, aggregation, window, comparison), a host silent or a check critical,
// the for-duration, and an optional capture action.
import { FormEvent, useState } from 'react';
import { Agg, parseFilters } from '../api';
import { Rule, createRule } from '../alerts';

const TIME_AGGS = ['avg', 'sum', 'rate', 'min', 'max', 'count', 'p50', 'p95', 'p99'];
const GROUP_AGGS = ['sum', 'avg', 'max', 'min', 'merge'];
const OPS = ['>', '>=', '<', '<=', '==', '!='];

const list = (s: string) =>
  s
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean);
const agg = (a: string): Agg => (/^p\d+$/.test(a) ? { quantile: Number(a.slice(1)) / 100 } : (a as Agg));

type Fields = Record<string, string>;

const INITIAL: Fields = {
  name: '',
  kind: 'metric',
  metric: '',
  filters: '',
  group_by: '',
  time_agg: 'avg',
  group_agg: 'sum',
  window_s: '60',
  op: '>',
  threshold: '',
  seconds: '30',
  check: '',
  for_s: '0',
  before_s: '10',
  after_s: '5',
  description: '',
};

function condition(f: Fields): Record<string, unknown> {
  const filters = parseFilters(list(f.filters));
  if (f.kind === 'host_silent') return { host_silent: { seconds: Number(f.seconds), filters } };
  if (f.kind === 'check_critical') return { check_critical: { check: f.check.trim() || null, filters } };
  return {
    metric: {
      metric: f.metric.trim(),
      filters,
      group_by: list(f.group_by),
      time_agg: agg(f.time_agg),
      group_agg: f.group_agg,
      window_ms: Math.round(Number(f.window_s) * 1000),
      op: f.op,
      threshold: Number(f.threshold),
    },
  };
}

export function RuleForm(props: { onCreated: (r: Rule) => void }) {
  const [f, setF] = useState<Fields>(INITIAL);
  const [capture, setCapture] = useState(false);
  const [err, setErr] = useState('');
  const set = (k: string) => (e: { target: { value: string } }) => setF({ ...f, [k]: e.target.value });
  const input = (k: string, label: string, extra: Record<string, unknown> = {}) => (
    <label>
      {label}
      <input name={k} value={f[k]} onChange={set(k)} {...extra} />
    </label>
  );
  const select = (k: string, label: string, opts: string[]) => (
    <label>
      {label}
      <select name={k} value={f[k]} onChange={set(k)}>
        {opts.map((o) => (
          <option key={o}>{o}</option>
        ))}
      </select>
    </label>
  );
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setErr('');
    const rule: Rule = {
      name: f.name.trim(),
      condition: condition(f),
      for_ms: Math.round(Number(f.for_s) * 1000),
      description: f.description,
      actions: capture ? [{ capture: { seconds_before: Number(f.before_s), seconds_after: Number(f.after_s) } }] : [],
    };
    try {
      props.onCreated(await createRule(rule));
      setF(INITIAL);
      setCapture(false);
    } catch (x) {
      setErr((x as Error).message);
    }
  };
  return (
    <form className="rule-form panel" onSubmit={submit}>
      <h3>New alert rule</h3>
      <div className="row">
        {input('name', 'Name', { placeholder: 'web-latency', required: true })}
        {select('kind', 'Condition', ['metric', 'host_silent', 'check_critical'])}
        {input('for_s', 'For (s)', { type: 'number', min: 0, step: 'any', style: { width: 70 } })}
      </div>
      {f.kind === 'metric' && (
        <div className="row">
          {input('metric', 'Metric', { placeholder: 'http.latency', required: true })}
          {input('filters', 'Scope', { placeholder: 'k8s.ns.name=shop, scope=container' })}
          {input('group_by', 'Group by', { placeholder: 'service.name' })}
          {select('time_agg', 'In time', TIME_AGGS)}
          {select('group_agg', 'Across', GROUP_AGGS)}
          {input('window_s', 'Window (s)', { type: 'number', min: 1, step: 'any', style: { width: 70 } })}
          {select('op', 'Is', OPS)}
          {input('threshold', 'Threshold', { type: 'number', step: 'any', required: true, style: { width: 100 } })}
        </div>
      )}
      {f.kind === 'host_silent' && (
        <div className="row">
          {input('seconds', 'Silent for (s)', { type: 'number', min: 1, style: { width: 70 } })}
          {input('filters', 'Hosts', { placeholder: 'host=node-1' })}
        </div>
      )}
      {f.kind === 'check_critical' && (
        <div className="row">
          {input('check', 'Check', { placeholder: 'any' })}
          {input('filters', 'Scope', { placeholder: 'host=node-1' })}
        </div>
      )}
      <div className="row">
        <label>
          <input type="checkbox" name="capture" checked={capture} onChange={(e) => setCapture(e.target.checked)} />
          Capture on firing
        </label>
        {capture && input('before_s', 'Seconds before', { type: 'number', min: 0, max: 600, style: { width: 70 } })}
        {capture && input('after_s', 'after', { type: 'number', min: 0, max: 600, style: { width: 70 } })}
        {input('description', 'Description', { style: { width: 260 } })}
        <button type="submit">Create</button>
      </div>
      {err && <div className="error">{err}</div>}
    </form>
  );
}
