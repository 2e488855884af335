// Topology map: groups at a level of the physical or logical hierarchy
// and the connections between them (GET /api/v1/topology); a click on a
// group drills into it (the next level, scoped to it), a click on a
// folded group outside the scope opens that one instead.
import { api } from '../api';
import { useAnswer } from '../answer';
import { GROUPINGS, label } from '../metrics';
import { RANGES, Route, go } from '../route';
import { GEdge, GNode, Graph } from '../widgets/Graph';
import { RangeSelect } from './Dashboard';

export function Topology({ route }: { route: Route }) {
  const preset = route.params.get('preset') === 'logical' ? 'logical' : 'physical';
  const levels = GROUPINGS[preset];
  const depth = Math.min(Number(route.params.get('depth') || 0), levels.length - 1);
  const range = route.params.get('range') || '15m';
  const scope = route.params.getAll('scope');
  const key = `${preset}|${depth}|${range}|${scope.join('&')}`;
  // the map of this route only: none while its answer is on the way
  const { data: graph, err } = useAnswer(key, () => {
    const q = new URLSearchParams({ level: levels[depth], range_ms: String(RANGES[range] || RANGES['15m']) });
    scope.forEach((s) => q.append('scope', s));
    return api<{ nodes: GNode[]; edges: GEdge[] }>(`/api/v1/topology?${q}`);
  });
  const to = (d: number, sc: string[]) => go('topology', { preset, depth: String(d), range, scope: sc });
  const pick = (n: GNode) => {
    if (n.kind === 'group' && depth + 1 < levels.length) to(depth + 1, [...scope, `${levels[depth]}=${n.id}`]);
    if (n.kind === 'outside') {
      // `tag=value`: the same level's view of that other scope
      const k = n.id.slice(0, n.id.indexOf('='));
      const i = levels.indexOf(k);
      if (i >= 0) to(i + 1, [...scope.slice(0, i), n.id]);
    }
  };
  return (
    <div className="page topology">
      <div className="toolbar">
        <label>
          Hierarchy
          <select name="preset" value={preset} onChange={(e) => go('topology', { preset: e.target.value, range })}>
            <option value="physical">physical</option>
            <option value="logical">logical</option>
          </select>
        </label>
        <label>
          Level
          <select name="level" value={depth} onChange={(e) => to(Number(e.target.value), scope.slice(0, Number(e.target.value)))}>
            {levels.map((l, i) => (
              <option key={l} value={i}>
                {label(l)}
              </option>
            ))}
          </select>
        </label>
        <RangeSelect value={range} onChange={(r) => go('topology', { preset, depth: String(depth), range: r, scope })} />
      </div>
      <div className="crumbs">
        <a onClick={() => to(0, [])}>all</a>
        {scope.map((s, i) => (
          <span key={s}>
            {' › '}
            <a onClick={() => to(i + 1, scope.slice(0, i + 1))}>{s.slice(s.indexOf('=') + 1)}</a>
          </span>
        ))}
        <span className="level"> › {label(levels[depth])}s</span>
      </div>
      {err && <div className="error">{err}</div>}
      {!graph && !err && <div className="muted loading">loading…</div>}
      {graph && graph.nodes.length === 0 && <div className="muted">no connections seen in this range</div>}
      {graph && graph.nodes.length > 0 && <Graph nodes={graph.nodes} edges={graph.edges} onPick={pick} />}
    </div>
  );
}
