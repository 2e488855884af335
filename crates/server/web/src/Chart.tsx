// A time-series panel drawn by uPlot (canvas), one line per group.
import { useEffect, useRef } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { Group } from './api';
import { fmt } from './format';

const COLORS = ['#2f7ed8', '#e4572e', '#29a35a', '#a855f7', '#f4a259', '#17becf', '#d62728', '#8c564b'];

export function Chart(props: { groups: Group[]; names: string[]; unit: string; height?: number; range?: [number, number] }) {
  const el = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const div = el.current;
    if (!div) return;
    const xs = [...new Set(props.groups.flatMap((g) => g.points.map((p) => p[0])))].sort((a, b) => a - b);
    const data: (number | null)[][] = [xs.map((x) => x / 1000)];
    for (const g of props.groups) {
      const m = new Map(g.points);
      data.push(xs.map((x) => (m.has(x) ? (m.get(x) as number) : null)));
    }
    const opts: uPlot.Options = {
      width: Math.max(200, div.clientWidth),
      height: props.height || 180,
      legend: { show: props.groups.length <= 8 },
      scales: props.range ? { x: { time: true, range: () => [props.range![0] / 1000, props.range![1] / 1000] } } : undefined,
      axes: [
        {
          values: (_u, vals) =>
            vals.map((v) => new Date(v * 1000).toLocaleTimeString(undefined, { hour12: false, hour: '2-digit', minute: '2-digit' })),
        },
        { values: (_u, vals) => vals.map((v) => fmt(v, props.unit)), size: 70 },
      ],
      series: [
        {},
        ...props.groups.map((_, i) => ({
          label: props.names[i],
          stroke: COLORS[i % COLORS.length],
          width: 1.5,
          value: (_u: uPlot, v: number | null) => (v == null ? '–' : fmt(v, props.unit)),
        })),
      ],
    };
    const u = new uPlot(opts, data as uPlot.AlignedData, div);
    const ro = new ResizeObserver(() => u.setSize({ width: Math.max(200, div.clientWidth), height: opts.height }));
    ro.observe(div);
    return () => {
      ro.disconnect();
      u.destroy();
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [props.groups, props.names, props.unit, props.height]);
  return <div className="chart" ref={el} data-points={props.groups.reduce((n, g) => n + g.points.length, 0)} />;
}
