// One page's answer from the API, tied to the question that asked for it.
import { useEffect, useState } from 'react';

/**
 * The answer of `load()` for `ask` (a string naming the question: the
 * route's parameters that shape the request). Until that answer arrives
 * the page gets `data: null`, never the answer to an earlier question: a
 * new route renders before its answer, and an answer that arrives after
 * the route moved on is dropped, however late it comes.
 */
export function useAnswer<T>(ask: string, load: () => Promise<T>): { data: T | null; err: string } {
  const [got, setGot] = useState<{ ask: string; data: T | null; err: string } | null>(null);
  useEffect(() => {
    let live = true;
    load().then(
      (data) => live && setGot({ ask, data, err: '' }),
      (e) => live && setGot({ ask, data: null, err: e instanceof Error ? e.message : String(e) }),
    );
    return () => {
      live = false;
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [ask]);
  return got && got.ask === ask ? { data: got.data, err: got.err } : { data: null, err: '' };
}
