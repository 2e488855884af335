// A directed graph in SVG, laid out in layers (clients left of the
// servers they call: ./layout.ts): each node a circle with its name and
// rates under it, each edge a curve whose width follows its byte rate,
// labelled where the label meets no other. Hovering a node lights its
// edges and dims the rest; hovering an edge lights it and tells its
// rates (also when there was no room for its label); a click on a group
// node calls `onPick`. An edge that carried HTTP is labelled with its
// requests/s, p95 and 5xx/s, any other with its bytes/s and connections.
import { useEffect, useMemo, useState } from 'react';
import { fmt } from '../format';
import { label as tagLabel } from '../metrics';
import { R, layout } from './layout';

export interface GNode {
  id: string;
  kind: 'group' | 'outside' | 'external';
  bytes_per_s: number;
  requests_per_s: number;
  p95_ms?: number | null;
}
export interface GEdgeHttp {
  requests: number;
  errors: number;
  client_errors: number;
  requests_per_s: number;
  errors_per_s: number;
  p95_ms?: number | null;
}
export interface GEdge {
  from: string;
  to: string;
  bytes_per_s: number;
  connections: number;
  http?: GEdgeHttp | null;
}

const COLORS = { group: '#2f62c8', outside: '#8a91a0', external: '#f4a259' };
const FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif";

let ctx: CanvasRenderingContext2D | null = null;
function measure(s: string, size: number): number {
  ctx ||= document.createElement('canvas').getContext('2d');
  if (!ctx) return s.length * size * 0.6;
  ctx.font = `${size === 12 ? '600 ' : ''}${size}px ${FONT}`;
  return ctx.measureText(s).width;
}

/** A node's name: a folded group outside the scope as `namespace billing`. */
function name(n: GNode): string {
  if (n.kind !== 'outside') return n.id;
  const i = n.id.indexOf('=');
  return `${tagLabel(n.id.slice(0, i))} ${n.id.slice(i + 1)}`;
}

function rates(n: GNode): string {
  const parts = [];
  if (n.requests_per_s > 0) parts.push(`${fmt(n.requests_per_s, 'rps').replace(' /s', ' req/s')}`);
  if (n.p95_ms != null) parts.push(`p95 ${fmt(n.p95_ms * 1e6, 'ns')}`);
  if (!parts.length) parts.push(fmt(n.bytes_per_s, 'Bps'));
  return parts.join(' · ');
}

const reqRate = (v: number) => fmt(v, 'rps').replace(' /s', ' req/s');

/** An edge's label: its HTTP when it carried any, else bytes and connections. */
function edgeText(e: GEdge): string {
  const h = e.http;
  if (!h) return `${fmt(e.bytes_per_s, 'Bps')} · ${e.connections} conn`;
  const parts = [reqRate(h.requests_per_s)];
  if (h.p95_ms != null) parts.push(`p95 ${fmt(h.p95_ms * 1e6, 'ns')}`);
  if (h.errors > 0) parts.push(`5xx ${fmt(h.errors_per_s, 'rps')}`);
  return parts.join(' · ');
}

/** An edge's tooltip: everything known of it. */
function edgeTitle(e: GEdge): string {
  const lines = [`${fmt(e.bytes_per_s, 'Bps')} · ${e.connections} conn`];
  const h = e.http;
  if (h) {
    lines.push(`HTTP ${reqRate(h.requests_per_s)} (${h.requests} requests)`);
    lines.push(`5xx ${h.errors} (${fmt(h.errors_per_s, 'rps')}) · 4xx ${h.client_errors}`);
    if (h.p95_ms != null) lines.push(`p95 ${fmt(h.p95_ms * 1e6, 'ns')}`);
  } else {
    lines.push('no HTTP seen');
  }
  return lines.join('\n');
}

export function Graph(props: { nodes: GNode[]; edges: GEdge[]; onPick: (n: GNode) => void }) {
  const [hover, setHover] = useState<string | null>(null);
  const [hoverEdge, setHoverEdge] = useState<number | null>(null);
  const g = useMemo(
    () =>
      layout(
        props.nodes.map((n) => ({ id: n.id, lines: [name(n), rates(n)] })),
        props.edges.map((e) => ({ from: e.from, to: e.to, label: edgeText(e) })),
        measure,
      ),
    [props.nodes, props.edges],
  );
  // a new graph: what was under the mouse is gone
  useEffect(() => (setHover(null), setHoverEdge(null)), [g]);
  const byId = new Map(props.nodes.map((n) => [n.id, n]));
  const byPair = new Map(props.edges.map((e) => [`${e.from}>${e.to}`, e]));
  const max = Math.max(1, ...props.edges.map((e) => e.bytes_per_s));
  const lit = (from: string, to: string) => hover === null || hover === from || hover === to;
  return (
    <div className="graph-frame">
      <svg className="graph" width={g.width} height={g.height} viewBox={`0 0 ${g.width} ${g.height}`}>
        <defs>
          <marker id="arrow" viewBox="0 0 10 10" refX="2" refY="5" markerUnits="userSpaceOnUse" markerWidth="9" markerHeight="9" orient="auto">
            <path d="M0,0 L10,5 L0,10 z" fill="#7a8394" />
          </marker>
        </defs>
        {g.edges.map((pe, i) => {
          const e = byPair.get(`${pe.from}>${pe.to}`)!;
          return (
            <g
              key={`${pe.from}>${pe.to}`}
              className={`edge${lit(pe.from, pe.to) ? '' : ' dim'}${hoverEdge === i ? ' hot' : ''}`}
              data-from={pe.from}
              data-to={pe.to}
              onMouseEnter={() => setHoverEdge(i)}
              onMouseLeave={() => setHoverEdge(null)}
            >
              <title>{`${name(byId.get(pe.from)!)} → ${name(byId.get(pe.to)!)}\n${edgeTitle(e)}`}</title>
              <path d={pe.d} fill="none" stroke="transparent" strokeWidth={12} />
              <path d={pe.d} fill="none" className="line" strokeWidth={1.5 + 4 * Math.sqrt(e.bytes_per_s / max)} markerEnd="url(#arrow)" />
            </g>
          );
        })}
        {g.edges.map((pe, i) => {
          const b = pe.label;
          if (!b) return null;
          // over every line, so no line crosses a label
          return (
            <g
              key={`${pe.from}>${pe.to}`}
              className={`elabel-g${lit(pe.from, pe.to) ? '' : ' dim'}${hoverEdge === i ? ' hot' : ''}`}
              data-from={pe.from}
              data-to={pe.to}
              onMouseEnter={() => setHoverEdge(i)}
              onMouseLeave={() => setHoverEdge(null)}
            >
              <title>{`${name(byId.get(pe.from)!)} → ${name(byId.get(pe.to)!)}\n${edgeTitle(byPair.get(`${pe.from}>${pe.to}`)!)}`}</title>
              <rect x={b.x} y={b.y} width={b.w} height={b.h} rx={3} className="elabel-bg" />
              <text x={b.x + b.w / 2} y={b.y + b.h / 2} className="elabel" dominantBaseline="central">
                {edgeText(byPair.get(`${pe.from}>${pe.to}`)!)}
              </text>
            </g>
          );
        })}
        {props.nodes.map((n) => {
          const p = g.nodes.get(n.id);
          if (!p) return null;
          const l = p.label;
          return (
            <g
              key={n.id}
              className={`node ${n.kind}${hover && hover !== n.id ? ' dim' : ''}`}
              data-id={n.id}
              onClick={() => props.onPick(n)}
              onMouseEnter={() => setHover(n.id)}
              onMouseLeave={() => setHover(null)}
              style={{ cursor: n.kind === 'external' ? 'default' : 'pointer' }}
            >
              <title>{n.kind === 'external' ? `${n.id}: no agent reports it` : `${n.id}: click to drill in`}</title>
              <circle cx={p.x} cy={p.y} r={R} fill={COLORS[n.kind]} />
              <text x={p.x} y={l.y} className="nlabel" textAnchor="middle" dominantBaseline="hanging">
                <tspan x={p.x} className="name">
                  {name(n)}
                </tspan>
                <tspan x={p.x} dy={16} className="rates">
                  {rates(n)}
                </tspan>
              </text>
            </g>
          );
        })}
      </svg>
      <div className="legend graph-legend">
        <span>
          <i style={{ background: COLORS.group }} /> group (click to drill in)
        </span>
        <span>
          <i style={{ background: COLORS.outside }} /> outside the scope, folded
        </span>
        <span>
          <i style={{ background: COLORS.external }} /> address no agent reports
        </span>
        <span>arrow: client → server; width: bytes/s; label: HTTP requests/s · p95 · 5xx/s over it, else bytes/s · connections</span>
        <span>under a node: requests/s it served · p95 latency</span>
      </div>
    </div>
  );
}
