// The page and its state live in the URL hash (#/page?k=v&...), so every
// view can be shared by its address.
import { useEffect, useState } from 'react';

export interface Route {
  page: string;
  params: URLSearchParams;
}

export function parse(): Route {
  const h = location.hash.replace(/^#\/?/, '');
  const i = h.indexOf('?');
  const page = (i < 0 ? h : h.slice(0, i)) || 'explore';
  return { page, params: new URLSearchParams(i < 0 ? '' : h.slice(i + 1)) };
}

export function href(page: string, params?: URLSearchParams | Record<string, string | string[]>): string {
  let p: URLSearchParams;
  if (params instanceof URLSearchParams) p = params;
  else {
    p = new URLSearchParams();
    for (const [k, v] of Object.entries(params || {})) {
      for (const x of Array.isArray(v) ? v : [v]) if (x !== '') p.append(k, x);
    }
  }
  const q = p.toString();
  return `#/${page}${q ? '?' + q : ''}`;
}

export function go(page: string, params?: URLSearchParams | Record<string, string | string[]>) {
  location.hash = href(page, params);
}

export function useRoute(): Route {
  const [r, setR] = useState(parse());
  useEffect(() => {
    const f = () => setR(parse());
    window.addEventListener('hashchange', f);
    return () => window.removeEventListener('hashchange', f);
  }, []);
  return r;
}

export const RANGES: Record<string, number> = {
  '5m': 5 * 60_000,
  '15m': 15 * 60_000,
  '1h': 3_600_000,
  '6h': 6 * 3_600_000,
  '24h': 24 * 3_600_000,
};

/** A bucket width giving about 120 points, on the store's roll-up widths. */
export function stepFor(rangeMs: number): number {
  const raw = rangeMs / 120;
  for (const s of [1000, 10_000, 60_000, 3_600_000]) if (raw <= s) return s;
  return 3_600_000;
}
