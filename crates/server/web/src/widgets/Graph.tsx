// A directed graph in SVG: nodes on a circle (external ones on an outer
// ring), edges as arrows whose width follows their byte rate, labelled
// with it; a click on a group node calls `onPick`.
import { fmt } from '../format';

export interface GNode {
  id: string;
  kind: 'group' | 'outside' | 'external';
  bytes_per_s: number;
  requests_per_s: number;
}
export interface GEdge {
  from: string;
  to: string;
  bytes_per_s: number;
  connections: number;
}

const W = 900;
const H = 560;
const COLORS = { group: '#2f62c8', outside: '#8a91a0', external: '#f4a259' };

function place(nodes: GNode[]): Map<string, [number, number]> {
  const at = new Map<string, [number, number]>();
  const rings: [GNode[], number][] = [
    [nodes.filter((n) => n.kind !== 'external'), 0.3],
    [nodes.filter((n) => n.kind === 'external'), 0.44],
  ];
  for (const [ring, r] of rings) {
    ring.forEach((n, i) => {
      const a = (2 * Math.PI * i) / Math.max(ring.length, 1) - Math.PI / 2;
      const rad = ring.length === 1 && r < 0.4 ? 0 : r;
      at.set(n.id, [W / 2 + Math.cos(a) * rad * W, H / 2 + Math.sin(a) * rad * H * 0.8]);
    });
  }
  return at;
}

export function Graph(props: { nodes: GNode[]; edges: GEdge[]; onPick: (n: GNode) => void }) {
  const at = place(props.nodes);
  const max = Math.max(1, ...props.edges.map((e) => e.bytes_per_s));
  return (
    <svg className="graph" viewBox={`0 0 ${W} ${H}`} width="100%">
      <defs>
        <marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerUnits="userSpaceOnUse" markerWidth="12" markerHeight="12" orient="auto">
          <path d="M0,0 L10,5 L0,10 z" fill="#7a8394" />
        </marker>
      </defs>
      {props.edges.map((e) => {
        const [x1, y1] = at.get(e.from) || [0, 0];
        const [x2, y2] = at.get(e.to) || [0, 0];
        const d = Math.hypot(x2 - x1, y2 - y1) || 1;
        const [ux, uy] = [(x2 - x1) / d, (y2 - y1) / d];
        return (
          <g key={`${e.from}>${e.to}`} className="edge" data-from={e.from} data-to={e.to}>
            <line
              x1={x1 + ux * 22}
              y1={y1 + uy * 22}
              x2={x2 - ux * 24}
              y2={y2 - uy * 24}
              stroke="#7a8394"
              strokeWidth={1 + 5 * Math.sqrt(e.bytes_per_s / max)}
              markerEnd="url(#arrow)"
            />
            <text x={(x1 + x2) / 2} y={(y1 + y2) / 2 - 4} className="elabel">
              {fmt(e.bytes_per_s, 'Bps')} · {e.connections} conn
            </text>
          </g>
        );
      })}
      {props.nodes.map((n) => {
        const [x, y] = at.get(n.id) || [0, 0];
        return (
          <g
            key={n.id}
            className={`node ${n.kind}`}
            data-id={n.id}
            transform={`translate(${x},${y})`}
            onClick={() => props.onPick(n)}
            style={{ cursor: n.kind === 'external' ? 'default' : 'pointer' }}
          >
            <circle r={20} fill={COLORS[n.kind]} />
            <text y={36} textAnchor="middle" className="nlabel">
              {n.id}
            </text>
            {n.requests_per_s > 0 && (
              <text y={50} textAnchor="middle" className="muted">
                {fmt(n.requests_per_s, 'rps')}
              </text>
            )}
          </g>
        );
      })}
    </svg>
  );
}
