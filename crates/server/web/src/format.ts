export function fmt(v: number | undefined, unit: string): string {
  if (v === undefined || Number.isNaN(v)) return '–';
  const si = (x: number, suffix: string, base = 1000) => {
    const units = ['', 'k', 'M', 'G', 'T'];
    let i = 0;
    while (Math.abs(x) >= base && i < units.length - 1) {
      x /= base;
      i++;
    }
    return `${x.toFixed(x >= 100 || i === 0 ? 0 : 1)} ${units[i]}${suffix}`.trim();
  };
  switch (unit) {
    case 'pct':
      return `${v.toFixed(1)} %`;
    case 'bytes':
      return si(v, 'B', 1024);
    case 'Bps':
      return si(v, 'B/s', 1024);
    case 'rps':
      return `${v < 10 ? v.toFixed(2) : v.toFixed(0)} /s`;
    case 'ns':
      if (v >= 1e9) return `${(v / 1e9).toFixed(2)} s`;
      if (v >= 1e6) return `${(v / 1e6).toFixed(1)} ms`;
      if (v >= 1e3) return `${(v / 1e3).toFixed(0)} µs`;
      return `${v.toFixed(0)} ns`;
    default:
      return si(v, '');
  }
}

export function ago(ms: number): string {
  if (!ms) return 'never';
  const s = Math.max(0, Math.round((Date.now() - ms) / 1000));
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.round(s / 60)} min ago`;
  return `${Math.round(s / 3600)} h ago`;
}

export function time(ms: number): string {
  const d = new Date(ms);
  return d.toLocaleString(undefined, { hour12: false });
}
