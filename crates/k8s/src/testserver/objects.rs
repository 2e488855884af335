//! Writes of single objects (Leases): get, create, replace, with the API
//! server's optimistic concurrency, and the injected competing write.

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use serde_json::Value;

use super::{send, status, Inner, Req, Res, Tls, World, RESOURCES};

/// A request on one object: the resource, namespace and name (`None`: a
/// create, posted to the collection).
pub(super) struct ObjRoute {
    res: &'static Res,
    ns: String,
    name: Option<String>,
}

/// `.../namespaces/NS/leases[/NAME]` (the resource whose objects the
/// agents write: Leases).
pub(super) fn object_route(path: &str) -> Option<ObjRoute> {
    let rest = path.strip_prefix("/apis/coordination.k8s.io/v1/namespaces/")?;
    let parts: Vec<&str> = rest.split('/').collect();
    let (ns, name) = match parts.as_slice() {
        [ns, "leases"] => (*ns, None),
        [ns, "leases", name] => (*ns, Some((*name).to_string())),
        _ => return None,
    };
    let res = RESOURCES.iter().find(|r| r.name == "leases")?;
    Some(ObjRoute {
        res,
        ns: ns.to_string(),
        name,
    })
}

/// GET, POST (create) and PUT (replace) of one object, with the API
/// server's optimistic concurrency: a create of an existing name is `409
/// AlreadyExists`, a replace whose `metadata.resourceVersion` is not the
/// stored one is `409 Conflict`.
pub(super) async fn object(
    s: &mut Tls,
    inn: &Arc<Inner>,
    req: &Req,
    r: ObjRoute,
) -> std::io::Result<bool> {
    let list_only = req.method == "GET" && r.name.is_none();
    if list_only {
        // a list of the collection: not used by the agents
        return send(s, 404, &status(404, "NotFound", "not served", r.res.name)).await;
    }
    let race = match inn.faults.lock() {
        Ok(mut f) if req.method != "GET" => {
            let hit = f.race.as_ref().is_some_and(|(res, ns, name, _)| {
                *res == r.res.name && *ns == r.ns && r.name.as_ref().map_or(true, |n| n == name)
            });
            if hit {
                f.race.take()
            } else {
                None
            }
        }
        _ => None,
    };
    let (code, body) = {
        let mut w = inn
            .world
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some((_, ns, name, v)) = race {
            // the competing writer's unconditional replace (or create)
            let other = Req {
                method: if w
                    .objects
                    .contains_key(&(r.res.name, ns.clone(), name.clone()))
                {
                    "PUT".into()
                } else {
                    "POST".into()
                },
                body: serde_json::to_vec(&v).unwrap_or_default(),
                path: String::new(),
                query: BTreeMap::new(),
                headers: BTreeMap::new(),
            };
            let mut unconditional = v;
            unconditional["metadata"]["resourceVersion"] = Value::Null;
            let other = Req {
                body: serde_json::to_vec(&unconditional).unwrap_or_default(),
                ..other
            };
            let route = ObjRoute {
                res: r.res,
                ns,
                name: Some(name),
            };
            object_op(&mut w, inn, &other, &route);
        }
        object_op(&mut w, inn, req, &r)
    };
    if code == 409 {
        inn.conflicts.fetch_add(1, Ordering::SeqCst);
    }
    send(s, code, &body).await
}

fn object_op(w: &mut World, inn: &Inner, req: &Req, r: &ObjRoute) -> (u16, Value) {
    let res = r.res;
    let plural = format!(
        "{}.{}",
        res.name,
        res.group_version.split_once('/').map_or("", |(g, _)| g)
    );
    let not_found = |name: &str| {
        let msg = format!("{plural} \"{name}\" not found");
        (404, status(404, "NotFound", &msg, res.name))
    };
    if req.method == "GET" {
        let name = r.name.clone().unwrap_or_default();
        return match w.objects.get(&(res.name, r.ns.clone(), name.clone())) {
            Some(v) => (200, v.clone()),
            None => not_found(&name),
        };
    }
    let Ok(mut v) = serde_json::from_slice::<Value>(&req.body) else {
        return (400, status(400, "BadRequest", "the body is not JSON", ""));
    };
    let name = match (&r.name, v["metadata"]["name"].as_str()) {
        (Some(n), _) => n.clone(),
        (None, Some(n)) => n.to_string(),
        (None, None) => {
            return (
                400,
                status(400, "BadRequest", "metadata.name is required", ""),
            );
        }
    };
    let key = (res.name, r.ns.clone(), name.clone());
    let old = w.objects.get(&key).cloned();
    let kind = match (req.method.as_str(), &old) {
        ("POST", Some(_)) => {
            let msg = format!("{plural} \"{name}\" already exists");
            return (409, status(409, "AlreadyExists", &msg, res.name));
        }
        ("POST", None) => "ADDED",
        ("PUT", None) => return not_found(&name),
        ("PUT", Some(o)) => {
            let want = v["metadata"]["resourceVersion"].as_str().unwrap_or("");
            let have = o["metadata"]["resourceVersion"].as_str().unwrap_or("");
            if !want.is_empty() && want != have {
                let msg = format!(
                    "Operation cannot be fulfilled on {plural} \"{name}\": the object has been modified; please apply your changes to the latest version and try again"
                );
                return (409, status(409, "Conflict", &msg, res.name));
            }
            "MODIFIED"
        }
        _ => {
            return (
                405,
                status(405, "MethodNotAllowed", "method not allowed", ""),
            )
        }
    };
    w.rv += 1;
    let rv = w.rv;
    let uid = match &old {
        Some(o) => o["metadata"]["uid"].clone(),
        None => {
            w.uid += 1;
            Value::from(format!("{:08x}-0000-4000-8000-{:012x}", w.uid, rv))
        }
    };
    v["apiVersion"] = Value::from(res.group_version);
    v["kind"] = Value::from(res.kind);
    let m = &mut v["metadata"];
    m["name"] = Value::from(name);
    m["namespace"] = Value::from(r.ns.clone());
    m["uid"] = uid;
    m["resourceVersion"] = Value::from(rv.to_string());
    w.objects.insert(key, v.clone());
    w.push(rv, res.name, kind, v.clone(), inn.history);
    (if kind == "ADDED" { 201 } else { 200 }, v)
}
