//! Gauges from outside the event stream, asked for at every tick: the
//! Kubernetes cluster state (`sonde-k8s`'s elected agent reports
//! workloads, pods, jobs and nodes; every agent the requests and limits
//! of its node's containers). A gauge about a container gets that
//! container's tags, as its measured usage does; a cluster-wide one gets
//! the explicit tags and `scope=cluster`.

use crate::series::{Series, Tags, Value};
use crate::tags;

/// One gauge from outside the event stream.
#[derive(Debug, Clone, PartialEq)]
pub struct ExternalGauge {
    /// Metric name.
    pub name: String,
    /// The short id of the container it is about (gets its tags), if any.
    pub container: Option<String>,
    /// Its own tags.
    pub tags: Tags,
    /// Its value.
    pub value: f64,
}

/// What the sink asks each second for the external gauges.
pub type External = Box<dyn FnMut() -> Vec<ExternalGauge> + Send>;

/// The gauges as series: a container's get `host` tags, `scope=container`
/// and `ctr_tags(id)` (which win over the gauge's own); the others the
/// explicit tags and `scope=cluster`.
pub fn series(
    gauges: Vec<ExternalGauge>,
    host: &Tags,
    explicit: &Tags,
    mut ctr_tags: impl FnMut(&str) -> Tags,
) -> Vec<Series> {
    let mut cluster = explicit.clone();
    tags::put(&mut cluster, "scope", "cluster".into());
    let mut out = Vec::with_capacity(gauges.len());
    for g in gauges {
        let t = match &g.container {
            Some(id) => {
                let mut t = host.clone();
                tags::put(&mut t, "scope", "container".into());
                let ct = ctr_tags(id);
                tags::joined(&g.tags, &[&t, &ct])
            }
            None => tags::joined(&g.tags, &[&cluster]),
        };
        out.push(Series {
            name: g.name,
            tags: t,
            value: Value::Gauge(g.value),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn g(name: &str, container: Option<&str>, tags: &[(&str, &str)]) -> ExternalGauge {
        ExternalGauge {
            name: name.into(),
            container: container.map(Into::into),
            tags: tags
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            value: 2.0,
        }
    }

    #[test]
    fn container_gauges_take_the_container_tags_cluster_ones_the_explicit() {
        let host: Tags = vec![
            ("env".into(), "prod".into()),
            ("host.hostname".into(), "h1".into()),
        ];
        let explicit: Tags = vec![("env".into(), "prod".into())];
        let s = series(
            vec![
                g(
                    "k8s.container.cpu.limit",
                    Some("abc"),
                    &[("k8s.container.name", "app"), ("k8s.pod.name", "stale")],
                ),
                g("k8s.node.capacity.pods", None, &[("k8s.node.name", "n1")]),
            ],
            &host,
            &explicit,
            |id| {
                vec![
                    ("container.id".into(), id.to_string()),
                    ("k8s.pod.name".into(), "web-1".into()),
                ]
            },
        );
        let tag = |i: usize, k: &str| {
            s[i].tags
                .iter()
                .find(|(x, _)| x == k)
                .map(|(_, v)| v.as_str())
        };
        assert_eq!(tag(0, "container.id"), Some("abc"));
        assert_eq!(
            tag(0, "k8s.pod.name"),
            Some("web-1"),
            "the container's tags win"
        );
        assert_eq!(tag(0, "k8s.container.name"), Some("app"));
        assert_eq!(tag(0, "scope"), Some("container"));
        assert_eq!(tag(0, "host.hostname"), Some("h1"));
        assert_eq!(tag(1, "scope"), Some("cluster"));
        assert_eq!(tag(1, "env"), Some("prod"));
        assert_eq!(tag(1, "host.hostname"), None);
        assert_eq!(s[1].value, Value::Gauge(2.0));
        assert!(s[0].tags.windows(2).all(|w| w[0].0 <= w[1].0), "sorted");
    }
}
