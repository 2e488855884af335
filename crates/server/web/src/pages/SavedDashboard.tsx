// A saved dashboard (#/dashboard?id=ID&range=R): its panels drawn for
// everyone who opens the link; editors and admins edit (name, panels:
// time series or top-N, metric, scope, group-by, aggregation), save and
// delete it; `id=new` starts an empty one.
import { useEffect, useState } from 'react';
import { Me, api } from '../api';
import {
  DashboardSpec,
  PANEL_AGGS,
  SavedPanel,
  asKey,
  createDashboard,
  deleteDashboard,
  getDashboard,
  saveDashboard,
  splitList,
} from '../dashboards';
import { Route, go } from '../route';
import { DashboardPicker, PanelView, RangeSelect, RefreshSelect, TopTable, useTick } from './Dashboard';

const blank = (): SavedPanel => ({ title: '', kind: 'series', metric: '', filters: [], group_by: [], agg: 'avg' });

function PanelEdit(props: { p: SavedPanel; i: number; metrics: string[]; set: (p: SavedPanel | null) => void }) {
  const { p, i, set } = props;
  return (
    <div className="row panel-edit" data-index={i}>
      <label>
        Title
        <input name="title" value={p.title} onChange={(e) => set({ ...p, title: e.target.value })} />
      </label>
      <label>
        Kind
        <select name="kind" value={p.kind} onChange={(e) => set({ ...p, kind: e.target.value as SavedPanel['kind'] })}>
          <option value="series">time series</option>
          <option value="top">top-N</option>
        </select>
      </label>
      <label>
        Metric
        <input name="metric" list="metric-names" value={p.metric} onChange={(e) => set({ ...p, metric: e.target.value.trim() })} />
      </label>
      <label>
        Scope
        <input
          name="filters"
          placeholder="tag=value, …"
          defaultValue={p.filters.join(', ')}
          onChange={(e) => set({ ...p, filters: splitList(e.target.value) })}
        />
      </label>
      <label>
        Group by
        <input
          name="group_by"
          placeholder="tag, …"
          defaultValue={p.group_by.join(', ')}
          onChange={(e) => set({ ...p, group_by: splitList(e.target.value) })}
        />
      </label>
      <label>
        Aggregation
        <select name="agg" value={p.agg} onChange={(e) => set({ ...p, agg: e.target.value })}>
          {PANEL_AGGS.map((a) => (
            <option key={a}>{a}</option>
          ))}
        </select>
      </label>
      <button type="button" className="small remove" onClick={() => set(null)}>
        Remove
      </button>
    </div>
  );
}

function Editor(props: { draft: DashboardSpec; setDraft: (d: DashboardSpec) => void; save: () => void; cancel: () => void }) {
  const { draft, setDraft } = props;
  const [metrics, setMetrics] = useState<string[]>([]);
  useEffect(() => {
    api<{ metrics: string[] }>('/api/v1/metrics')
      .then((m) => setMetrics(m.metrics))
      .catch(() => {});
  }, []);
  const setPanel = (i: number, p: SavedPanel | null) => {
    const panels = [...draft.panels];
    if (p) panels[i] = p;
    else panels.splice(i, 1);
    setDraft({ ...draft, panels });
  };
  return (
    <form
      className="rule-form dash-edit"
      onSubmit={(e) => {
        e.preventDefault();
        props.save();
      }}
    >
      <datalist id="metric-names">
        {metrics.map((m) => (
          <option key={m} value={m} />
        ))}
      </datalist>
      <div className="row">
        <label>
          Name
          <input name="name" value={draft.name} onChange={(e) => setDraft({ ...draft, name: e.target.value })} />
        </label>
      </div>
      {draft.panels.map((p, i) => (
        <PanelEdit key={`${i}/${draft.panels.length}`} p={p} i={i} metrics={metrics} set={(x) => setPanel(i, x)} />
      ))}
      <div className="row">
        <button type="button" className="add-panel" onClick={() => setDraft({ ...draft, panels: [...draft.panels, blank()] })}>
          Add panel
        </button>
        <button type="submit" className="save">
          Save
        </button>
        <button type="button" className="cancel" onClick={props.cancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}

function Panels(props: { panels: SavedPanel[]; range: string; tick: number }) {
  return (
    <div className="panels">
      {props.panels.map((p, i) => {
        const { key, filters } = asKey(p);
        if (p.kind === 'top')
          return (
            <TopTable
              key={i}
              title={p.title}
              metric={p.metric}
              agg={key.time}
              unit={key.unit}
              by={p.group_by[0] || ''}
              filters={filters}
              range={props.range}
              tick={props.tick}
              n={p.top}
            />
          );
        return <PanelView key={i} panel={{ title: p.title, key, by: p.group_by }} filters={filters} range={props.range} tick={props.tick} />;
      })}
    </div>
  );
}

export function Saved({ id, route, me }: { id: string; route: Route; me: Me }) {
  const range = route.params.get('range') || '15m';
  const refresh = Number(route.params.get('refresh') || '0');
  const tick = useTick(refresh);
  const canEdit = me.role !== 'viewer';
  const isNew = id === 'new';
  const [dash, setDash] = useState<DashboardSpec & { id?: string; owner?: string; updated_by?: string } | null>(null);
  const [draft, setDraft] = useState<DashboardSpec | null>(null);
  const [err, setErr] = useState('');
  useEffect(() => {
    setErr('');
    if (isNew) {
      setDash({ name: '', panels: [] });
      setDraft({ name: '', panels: [blank()] });
      return;
    }
    setDraft(null);
    getDashboard(id)
      .then(setDash)
      .catch((e) => (setErr(e.message), setDash(null)));
  }, [id]);
  const url = (over: Record<string, string>) => ({ id, range, refresh: String(refresh), ...over });
  const save = async () => {
    if (!draft) return;
    try {
      if (isNew) {
        const d = await createDashboard(draft);
        go('dashboard', url({ id: d.id }));
      } else {
        setDash(await saveDashboard(id, draft));
        setDraft(null);
      }
      setErr('');
    } catch (e) {
      setErr((e as Error).message);
    }
  };
  const remove = async () => {
    if (!confirm(`Delete dashboard '${dash?.name}'?`)) return;
    try {
      await deleteDashboard(id);
      go('dashboard', { range });
    } catch (e) {
      setErr((e as Error).message);
    }
  };
  return (
    <div className="page dashboard saved" data-id={isNew ? '' : id}>
      <div className="toolbar">
        <DashboardPicker value={`id:${id}`} range={range} canEdit={canEdit} />
        <RangeSelect value={range} onChange={(r) => go('dashboard', url({ range: r }))} />
        <RefreshSelect value={refresh} onChange={(r) => go('dashboard', url({ refresh: r }))} />
        {canEdit && dash && !draft && (
          <>
            <button className="edit" onClick={() => setDraft({ name: dash.name, panels: dash.panels })}>
              Edit
            </button>
            <button className="delete" onClick={remove}>
              Delete
            </button>
          </>
        )}
      </div>
      {err && <div className="error">{err}</div>}
      {dash && !isNew && (
        <h2 className="dash-name">
          {dash.name} <span className="muted">by {dash.owner}{dash.updated_by && dash.updated_by !== dash.owner ? `, saved by ${dash.updated_by}` : ''}</span>
        </h2>
      )}
      {draft && <Editor draft={draft} setDraft={setDraft} save={save} cancel={() => (isNew ? go('dashboard', { range }) : setDraft(null))} />}
      {dash && <Panels panels={draft ? draft.panels.filter((p) => p.metric && (p.kind === 'series' || p.group_by.length > 0)) : dash.panels} range={range} tick={tick} />}
      {dash && !draft && dash.panels.length === 0 && <div className="muted">no panels yet</div>}
    </div>
  );
}
