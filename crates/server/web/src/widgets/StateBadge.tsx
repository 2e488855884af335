// A coloured badge for an alert's or a capture's state.
const COLORS: Record<string, string> = {
  ok: '#29a35a',
  pending: '#f4a259',
  firing: '#d62728',
  acked: '#7a5af8',
  silenced: '#8a91a0',
  resolved: '#29a35a',
  requested: '#f4a259',
  stored: '#29a35a',
  failed: '#d62728',
  expired: '#8a91a0',
};

export function StateBadge({ state }: { state: string }) {
  return (
    <span className="badge state" data-state={state} style={{ background: COLORS[state] || '#596275' }}>
      {state}
    </span>
  );
}
