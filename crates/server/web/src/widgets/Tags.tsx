// Tags as `k=v` chips, leaving out the ones named in `hide`.
export function Tags({ tags, hide = [] }: { tags: Record<string, string>; hide?: string[] }) {
  return (
    <>
      {Object.entries(tags)
        .filter(([k]) => !hide.includes(k))
        .map(([k, v]) => (
          <code key={k}>
            {k}={v}
          </code>
        ))}
    </>
  );
}
