// The topology map's layout: a layered drawing, clients left of the
// servers they call. Cycles are broken by a depth-first search (the edges
// closing one are drawn as arcs below the nodes), layers are the longest
// path from a node nothing calls, and each layer's order is improved by
// barycenter sweeps so fewer edges cross. Node labels sit under their
// node; the column gap is wide enough for an edge label (two side by
// side where many edges cross it), and each edge label is put at the
// first spot on its edge (middle first, then nearer the ends, then just
// beside the line) where it meets no node, node label or edge label
// already placed; an edge with no such spot keeps its label for hover only.

export interface Box {
  x: number;
  y: number;
  w: number;
  h: number;
}

export interface LayoutNode {
  id: string;
  /** Label lines (the name, then the rates). */
  lines: string[];
}

export interface LayoutEdge {
  from: string;
  to: string;
  label: string;
}

export interface PlacedNode {
  id: string;
  x: number;
  y: number;
  /** The box of its label lines. */
  label: Box;
}

export interface PlacedEdge {
  from: string;
  to: string;
  /** The SVG path. */
  d: string;
  /** Where its label sits (its centre), or null: hover only. */
  label: Box | null;
  back: boolean;
}

export interface Layout {
  width: number;
  height: number;
  nodes: Map<string, PlacedNode>;
  edges: PlacedEdge[];
}

/** Sizes: node radius, label line heights, gaps. */
export const R = 18;
const LINE = [16, 14];
const PAD = 24;
const ROW_GAP = 40;
const LABEL_H = 16;

export function intersects(a: Box, b: Box): boolean {
  return a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;
}

/** Edges closing a cycle (found by a depth-first search from each node in order). */
function backEdges(ids: string[], out: Map<string, string[]>): Set<string> {
  const state = new Map<string, number>(); // 1: on the stack, 2: done
  const back = new Set<string>();
  const visit = (v: string) => {
    state.set(v, 1);
    for (const w of out.get(v) || []) {
      const s = state.get(w);
      if (s === 1) back.add(`${v}\u0000${w}`);
      else if (!s) visit(w);
    }
    state.set(v, 2);
  };
  ids.forEach((v) => state.get(v) || visit(v));
  return back;
}

/** Each node's layer: the longest path to it over the forward edges. */
function layers(ids: string[], fwd: [string, string][]): Map<string, number> {
  const layer = new Map(ids.map((id) => [id, 0]));
  // a DAG: relaxing |V| times settles every longest path
  for (let i = 0; i < ids.length; i++) {
    let moved = false;
    for (const [a, b] of fwd) {
      const l = (layer.get(a) || 0) + 1;
      if (l > (layer.get(b) || 0)) {
        layer.set(b, l);
        moved = true;
      }
    }
    if (!moved) break;
  }
  return layer;
}

/** The order within each layer, by barycenter sweeps down and up. */
function order(cols: string[][], fwd: [string, string][]): string[][] {
  const pos = new Map<string, number>();
  const index = () => cols.forEach((c) => c.forEach((id, i) => pos.set(id, i)));
  index();
  const pred = new Map<string, string[]>();
  const succ = new Map<string, string[]>();
  for (const [a, b] of fwd) {
    pred.set(b, [...(pred.get(b) || []), a]);
    succ.set(a, [...(succ.get(a) || []), b]);
  }
  const sweep = (c: string[], by: Map<string, string[]>) => {
    const bary = (id: string) => {
      const ns = by.get(id) || [];
      return ns.length ? ns.reduce((s, n) => s + (pos.get(n) || 0), 0) / ns.length : pos.get(id) || 0;
    };
    const keyed = c.map((id) => [bary(id), id] as [number, string]);
    keyed.sort((x, y) => x[0] - y[0] || (x[1] < y[1] ? -1 : 1));
    return keyed.map(([, id]) => id);
  };
  for (let round = 0; round < 4; round++) {
    for (let i = 1; i < cols.length; i++) (cols[i] = sweep(cols[i], pred)), index();
    for (let i = cols.length - 2; i >= 0; i--) (cols[i] = sweep(cols[i], succ)), index();
  }
  return cols;
}

/** A point of the cubic Bézier p0..p3 at t. */
function bez(p: number[][], t: number): [number, number] {
  const u = 1 - t;
  const k = [u * u * u, 3 * u * u * t, 3 * u * t * t, t * t * t];
  return [0, 1].map((j) => p.reduce((s, q, i) => s + k[i] * q[j], 0)) as [number, number];
}

/** Places the label of size (w, h) on the curve `p`, clear of `taken`. */
function placeLabel(p: number[][], w: number, h: number, taken: Box[]): Box | null {
  // on the line first, anywhere along it; then beside it
  for (const dy of [0, -(h / 2 + 2), h / 2 + 2, -(h + 4), h + 4]) {
    for (const t of [0.5, 0.4, 0.6, 0.3, 0.7, 0.22, 0.78, 0.15, 0.85]) {
      const [cx, cy] = bez(p, t);
      const b = { x: cx - w / 2, y: cy + dy - h / 2, w, h };
      const room = { x: b.x - 3, y: b.y - 1, w: w + 6, h: h + 2 };
      if (!taken.some((o) => intersects(room, o))) return b;
    }
  }
  return null;
}

/** Whether the curve `p` keeps out of every box of `boxes`. */
function clear(p: number[][], boxes: Box[]): boolean {
  for (let i = 1; i < 24; i++) {
    const [x, y] = bez(p, i / 24);
    if (boxes.some((b) => x > b.x && x < b.x + b.w && y > b.y && y < b.y + b.h)) return false;
  }
  return true;
}

/**
 * The layout of `nodes` and `edges`; `measure(text, size)` gives a
 * text's width in pixels at a font size (12 for names, 11 otherwise).
 */
export function layout(nodes: LayoutNode[], edges: LayoutEdge[], measure: (s: string, size: number) => number): Layout {
  const ids = nodes.map((n) => n.id);
  const known = new Set(ids);
  const es = edges.filter((e) => known.has(e.from) && known.has(e.to) && e.from !== e.to);
  const out = new Map<string, string[]>();
  es.forEach((e) => out.set(e.from, [...(out.get(e.from) || []), e.to]));
  const back = backEdges(ids, out);
  const isBack = (e: LayoutEdge) => back.has(`${e.from}\u0000${e.to}`);
  const fwd = es.map((e) => (isBack(e) ? [e.to, e.from] : [e.from, e.to]) as [string, string]);
  const layer = layers(ids, fwd);
  const cols: string[][] = [];
  ids.forEach((id) => (cols[layer.get(id) || 0] ||= []).push(id));
  order(
    cols.map((c) => c || []),
    fwd,
  ).forEach((c, i) => (cols[i] = c));

  // sizes: each node's label box, each column's width, the gap for edge labels
  const lines = new Map(nodes.map((n) => [n.id, n.lines]));
  const labelW = (id: string) =>
    Math.max(...(lines.get(id) || ['']).map((s, i) => measure(s, i === 0 ? 12 : 11))) + 6;
  const labelH = (id: string) => (lines.get(id) || ['']).reduce((s, _, i) => s + LINE[Math.min(i, 1)], 0);
  const edgeW = Math.max(0, ...es.map((e) => measure(e.label, 11) + 10));
  // a gap many edges cross holds their labels side by side
  const crossing = (i: number) => fwd.filter(([a, b]) => (layer.get(a) || 0) <= i && (layer.get(b) || 0) > i).length;
  const gaps = cols.map((_, i) => Math.max(90, edgeW + 40, crossing(i) > 3 ? 2 * edgeW + 60 : 0));
  const colW = cols.map((c) => Math.max(2 * R + 8, ...c.map(labelW)));
  const blockH = (id: string) => 2 * R + 6 + labelH(id);
  const colH = cols.map((c) => c.reduce((s, id) => s + blockH(id), 0) + ROW_GAP * Math.max(0, c.length - 1));
  const inner = Math.max(...colH, 2 * R);
  let x = PAD;
  const placed = new Map<string, PlacedNode>();
  cols.forEach((c, i) => {
    const cx = x + colW[i] / 2;
    let y = PAD + (inner - colH[i]) / 2;
    for (const id of c) {
      const w = labelW(id);
      placed.set(id, { id, x: cx, y: y + R, label: { x: cx - w / 2, y: y + 2 * R + 4, w, h: labelH(id) } });
      y += blockH(id) + ROW_GAP;
    }
    x += colW[i] + gaps[i];
  });
  const curves = route(es, isBack, placed, measure);
  return fit(placed, curves, Math.max(x - gaps[cols.length - 1] + PAD, 200), inner + 2 * PAD);
}

interface Curve {
  e: LayoutEdge;
  p: number[][];
  label: Box | null;
  back: boolean;
}

/** Shifts everything down so bowed edges above the nodes stay in view; the size. */
function fit(at: Map<string, PlacedNode>, curves: Curve[], width: number, height: number): Layout {
  let [top, bottom] = [0, height];
  for (const c of curves) {
    for (let i = 0; i <= 12; i++) {
      const y = bez(c.p, i / 12)[1];
      [top, bottom] = [Math.min(top, y - 8), Math.max(bottom, y + 8)];
    }
    if (c.label) [top, bottom] = [Math.min(top, c.label.y - 4), Math.max(bottom, c.label.y + c.label.h + 4)];
  }
  const dy = -top;
  at.forEach((n) => ((n.y += dy), (n.label.y += dy)));
  const edges = curves.map((c) => {
    const p = c.p.map(([x, y]) => [x, y + dy]);
    const d = `M${p[0][0]},${p[0][1]} C${p[1][0]},${p[1][1]} ${p[2][0]},${p[2][1]} ${p[3][0]},${p[3][1]}`;
    const label = c.label && { ...c.label, y: c.label.y + dy };
    return { from: c.e.from, to: c.e.to, d, label, back: c.back };
  });
  return { width, height: bottom - top, nodes: at, edges };
}

/** Each edge's curve (bowed round the nodes in its way) and label spot. */
function route(
  es: LayoutEdge[],
  isBack: (e: LayoutEdge) => boolean,
  at: Map<string, PlacedNode>,
  measure: (s: string, size: number) => number,
): Curve[] {
  const taken: Box[] = [];
  const body = (n: PlacedNode) => ({ x: n.x - R - 2, y: n.y - R - 2, w: 2 * R + 4, h: 2 * R + 4 });
  at.forEach((n) => taken.push(body(n), n.label));
  return es.map((e) => {
    const a = at.get(e.from)!;
    const b = at.get(e.to)!;
    const back = isBack(e);
    // client to server, left to right; an edge closing a cycle runs back
    const dir = back ? -1 : 1;
    const [x1, x2] = [a.x + dir * (R + 2), b.x - dir * (R + 8)];
    const others: Box[] = [];
    at.forEach((n) => n !== a && n !== b && others.push(body(n), n.label));
    const curve = (bow: number) => {
      const mid = (x2 - x1) / 2;
      return [
        [x1, a.y],
        [x1 + mid, a.y + bow],
        [x2 - mid, b.y + bow],
        [x2, b.y],
      ];
    };
    const bows = back ? [70, -70, 120, -120, 180, -180] : [0, 50, -50, 90, -90, 140, -140];
    const p = curve(bows.find((w) => clear(curve(w), others)) ?? bows[0]);
    const label = placeLabel(p, measure(e.label, 11) + 8, LABEL_H, taken);
    if (label) taken.push(label);
    return { e, p, label, back };
  });
}
