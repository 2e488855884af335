// The link an event leads to: a stored capture's file and its row, the
// captures an alert's firing asked for.
import { SEvent } from '../api';
import { captureHref } from '../alerts';

export function EventLink({ e }: { e: SEvent }) {
  const t = e.tags;
  if (e.kind === 'capture' && t.state === 'stored') {
    return (
      <a className="capture-link" href={`/api/v1/captures/${t.capture}`} download={`sonde-${t.capture}.scap`}>
        download capture
      </a>
    );
  }
  if (e.kind === 'capture' && t.rule && t.alert_ts_ms) {
    return <a href={captureHref(t.rule, t.alert_ts_ms)}>capture</a>;
  }
  if (e.kind === 'alert' && t.state === 'firing' && JSON.stringify(e.body).includes('"capture"')) {
    return (
      <a className="capture-link" href={captureHref(t.rule || '', e.ts_ms)}>
        capture
      </a>
    );
  }
  return null;
}
