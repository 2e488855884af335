//! Users, roles, sessions and API tokens: local users with argon2id
//! password hashes and their API tokens (kept as SHA-256 digests) in
//! `users.json` in the data directory; sessions in memory (a restart logs
//! everyone out). The `--api-token-file` tokens act as admin. Agent
//! tokens are not here: they only open the ingest endpoint. Teams (a
//! name and the Kubernetes namespaces it is given) are in the same file;
//! a user in a team sees only those namespaces ([`crate::teams`]).
//! The HTTP side (login, middleware, user and token routes) is [`routes`].

pub mod routes;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::RwLock;

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use serde::{Deserialize, Serialize};
use sonde_transport::Token;

/// How long a session lasts, ms.
pub const SESSION_MS: i64 = 12 * 3_600_000;

/// What a principal may do; each role includes the ones before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Reads everything.
    Viewer,
    /// Also changes things (alerts, dashboards, its own tokens).
    Editor,
    /// Also manages users.
    Admin,
}

impl Role {
    /// Parses `viewer`, `editor` or `admin`.
    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "viewer" => Some(Role::Viewer),
            "editor" => Some(Role::Editor),
            "admin" => Some(Role::Admin),
            _ => None,
        }
    }
}

/// Who made a request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Principal {
    /// The user's name (`token` for a token of `--api-token-file`).
    pub user: String,
    /// Its role.
    pub role: Role,
    /// Its team, when it has one (it then sees only the team's namespaces).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub team: Option<String>,
}

/// An auth operation failed.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// A bad request (name, password, role).
    #[error("{0}")]
    Bad(String),
    /// The users file cannot be read or written.
    #[error("users file '{0}': {1}")]
    File(PathBuf, String),
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct User {
    role: Role,
    hash: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    team: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct ApiToken {
    id: String,
    user: String,
    role: Role,
    sha256: String,
    created_ms: i64,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct Saved {
    users: BTreeMap<String, User>,
    tokens: Vec<ApiToken>,
    /// Team -> the namespaces it sees.
    #[serde(default)]
    teams: BTreeMap<String, Vec<String>>,
}

/// The users, their tokens and the live sessions. Thread-safe.
#[derive(Debug, Default)]
pub struct Auth {
    file: RwLock<Option<PathBuf>>,
    saved: RwLock<Saved>,
    /// Session digest -> (principal, expiry ms).
    sessions: RwLock<HashMap<String, (Principal, i64)>>,
    admin_tokens: Vec<Token>,
}

fn sha256_hex(s: &str) -> String {
    let d = ring::digest::digest(&ring::digest::SHA256, s.as_bytes());
    d.as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

/// `n` random bytes as hex.
fn random_hex(n: usize) -> String {
    use ring::rand::SecureRandom;
    let mut b = vec![0u8; n];
    // SystemRandom reads the kernel's generator; it does not fail on Linux
    let _ = ring::rand::SystemRandom::new().fill(&mut b);
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// A random id (16 hex digits) for things users make (dashboards).
pub fn random_id() -> String {
    random_hex(8)
}

fn check_name(name: &str) -> Result<(), AuthError> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-@".contains(c));
    if ok && name != "token" {
        Ok(())
    } else {
        Err(AuthError::Bad(format!(
            "user name '{name}': 1-64 of letters, digits, '.', '_', '-', '@' (not 'token')"
        )))
    }
}

/// An argon2id hash (PHC string) of `password`.
pub fn hash_password(password: &str) -> Result<String, AuthError> {
    if password.len() < 8 {
        return Err(AuthError::Bad(
            "a password needs at least 8 characters".into(),
        ));
    }
    let salt_hex = random_hex(16);
    let salt = SaltString::encode_b64(salt_hex.as_bytes())
        .map_err(|e| AuthError::Bad(format!("salt: {e}")))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| AuthError::Bad(format!("hashing: {e}")))
}

impl Auth {
    /// Auth with the `--api-token-file` tokens (admin), no users yet.
    pub fn new(admin_tokens: Vec<Token>) -> Auth {
        Auth {
            admin_tokens,
            ..Auth::default()
        }
    }

    /// Loads (or starts) the users file `dir/users.json`; with no user in
    /// it and a `bootstrap` password, creates the admin user `admin`.
    /// Returns whether it created it.
    pub fn open(&self, dir: &Path, bootstrap: Option<&str>) -> Result<bool, AuthError> {
        let path = dir.join("users.json");
        let saved: Saved = match std::fs::read(&path) {
            Ok(b) => serde_json::from_slice(&b)
                .map_err(|e| AuthError::File(path.clone(), e.to_string()))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Saved::default(),
            Err(e) => return Err(AuthError::File(path, e.to_string())),
        };
        let empty = saved.users.is_empty();
        *self.saved.write().unwrap_or_else(|e| e.into_inner()) = saved;
        *self.file.write().unwrap_or_else(|e| e.into_inner()) = Some(path);
        match bootstrap {
            Some(pw) if empty => {
                self.set_user("admin", pw, Role::Admin, None)?;
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    fn save(&self, s: &Saved) -> Result<(), AuthError> {
        let Some(path) = self.file.read().unwrap_or_else(|e| e.into_inner()).clone() else {
            return Ok(());
        };
        let tmp = path.with_extension("json.tmp");
        let text = serde_json::to_vec_pretty(s)
            .map_err(|e| AuthError::File(path.clone(), e.to_string()))?;
        write_private(&tmp, &text)
            .and_then(|()| std::fs::rename(&tmp, &path))
            .map_err(|e| AuthError::File(path, e.to_string()))
    }

    /// Creates or replaces user `name` (in `team`, which must exist).
    pub fn set_user(
        &self,
        name: &str,
        password: &str,
        role: Role,
        team: Option<&str>,
    ) -> Result<(), AuthError> {
        check_name(name)?;
        let hash = hash_password(password)?;
        let mut s = self.saved.write().unwrap_or_else(|e| e.into_inner());
        if let Some(t) = team.filter(|t| !s.teams.contains_key(*t)) {
            return Err(AuthError::Bad(format!("no team '{t}' (make it first)")));
        }
        let team = team.map(String::from);
        s.users.insert(name.to_string(), User { role, hash, team });
        // a changed role or password ends the user's sessions
        self.sessions
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|_, (p, _)| p.user != name);
        self.save(&s)
    }

    /// Changes user `name`'s role, team (`Some(None)`: out of its team)
    /// or password, each when given; whether the user exists. Its sessions
    /// end; the last admin stays an admin.
    pub fn update_user(
        &self,
        name: &str,
        role: Option<Role>,
        team: Option<Option<&str>>,
        password: Option<&str>,
    ) -> Result<bool, AuthError> {
        let hash = password.map(hash_password).transpose()?;
        let mut s = self.saved.write().unwrap_or_else(|e| e.into_inner());
        if let Some(t) = team.flatten().filter(|t| !s.teams.contains_key(*t)) {
            return Err(AuthError::Bad(format!("no team '{t}' (make it first)")));
        }
        if role.is_some_and(|r| r != Role::Admin) {
            last_admin(&s, name)?;
        }
        let Some(u) = s.users.get_mut(name) else {
            return Ok(false);
        };
        if let Some(r) = role {
            u.role = r;
        }
        if let Some(t) = team {
            u.team = t.map(String::from);
        }
        if let Some(h) = hash {
            u.hash = h;
        }
        self.sessions
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|_, (p, _)| p.user != name);
        self.save(&s)?;
        Ok(true)
    }

    /// Deletes user `name` with its tokens and sessions (not the last
    /// admin); whether it existed.
    pub fn delete_user(&self, name: &str) -> Result<bool, AuthError> {
        let mut s = self.saved.write().unwrap_or_else(|e| e.into_inner());
        last_admin(&s, name)?;
        let had = s.users.remove(name).is_some();
        s.tokens.retain(|t| t.user != name);
        self.sessions
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|_, (p, _)| p.user != name);
        self.save(&s)?;
        Ok(had)
    }

    /// The users, their roles and teams.
    pub fn users(&self) -> Vec<(String, Role, Option<String>)> {
        let s = self.saved.read().unwrap_or_else(|e| e.into_inner());
        s.users
            .iter()
            .map(|(n, u)| (n.clone(), u.role, u.team.clone()))
            .collect()
    }

    /// Creates or replaces team `name` with the namespaces it sees.
    pub fn set_team(&self, name: &str, namespaces: Vec<String>) -> Result<(), AuthError> {
        check_name(name)?;
        if let Some(n) = namespaces.iter().find(|n| !valid_namespace(n)) {
            return Err(AuthError::Bad(format!(
                "namespace '{n}': lower-case letters, digits and '-' (at most 63)"
            )));
        }
        let mut s = self.saved.write().unwrap_or_else(|e| e.into_inner());
        s.teams.insert(name.to_string(), namespaces);
        self.save(&s)
    }

    /// Deletes team `name` (refused while a user is in it); whether it existed.
    pub fn delete_team(&self, name: &str) -> Result<bool, AuthError> {
        let mut s = self.saved.write().unwrap_or_else(|e| e.into_inner());
        if let Some((u, _)) = s
            .users
            .iter()
            .find(|(_, u)| u.team.as_deref() == Some(name))
        {
            return Err(AuthError::Bad(format!("user '{u}' is in team '{name}'")));
        }
        let had = s.teams.remove(name).is_some();
        self.save(&s)?;
        Ok(had)
    }

    /// The teams and their namespaces.
    pub fn teams(&self) -> BTreeMap<String, Vec<String>> {
        self.saved
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .teams
            .clone()
    }

    /// The namespaces `p` may see: `None` for all (no team), else its
    /// team's (none when the team is gone).
    pub fn namespaces(&self, p: &Principal) -> Option<Vec<String>> {
        let team = p.team.as_ref()?;
        let s = self.saved.read().unwrap_or_else(|e| e.into_inner());
        Some(s.teams.get(team).cloned().unwrap_or_default())
    }

    /// Checks a password (argon2: tens of ms, call off the async threads).
    pub fn verify(&self, name: &str, password: &str) -> Option<Principal> {
        let u = self
            .saved
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .users
            .get(name)
            .cloned()?;
        let h = PasswordHash::new(&u.hash).ok()?;
        Argon2::default()
            .verify_password(password.as_bytes(), &h)
            .ok()
            .map(|()| Principal {
                user: name.to_string(),
                role: u.role,
                team: u.team.clone(),
            })
    }

    /// Starts a session for `p`: its secret (the cookie's value).
    pub fn start_session(&self, p: Principal, now_ms: i64) -> String {
        let secret = random_hex(32);
        let mut s = self.sessions.write().unwrap_or_else(|e| e.into_inner());
        s.retain(|_, (_, exp)| *exp > now_ms);
        s.insert(sha256_hex(&secret), (p, now_ms + SESSION_MS));
        secret
    }

    /// Ends the session of `secret`.
    pub fn end_session(&self, secret: &str) {
        self.sessions
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&sha256_hex(secret));
    }

    /// The principal of a live session.
    pub fn session(&self, secret: &str, now_ms: i64) -> Option<Principal> {
        let s = self.sessions.read().unwrap_or_else(|e| e.into_inner());
        s.get(&sha256_hex(secret))
            .filter(|(_, exp)| *exp > now_ms)
            .map(|(p, _)| p.clone())
    }

    /// The principal of an API token (a user's, or an admin token).
    pub fn token(&self, t: &str) -> Option<Principal> {
        if self.admin_tokens.iter().any(|k| k.matches(t)) {
            return Some(Principal {
                user: "token".into(),
                role: Role::Admin,
                team: None,
            });
        }
        let d = sha256_hex(t);
        let s = self.saved.read().unwrap_or_else(|e| e.into_inner());
        s.tokens.iter().find(|k| k.sha256 == d).and_then(|k| {
            // a token never has more than its user has now
            let u = s.users.get(&k.user)?;
            Some(Principal {
                user: k.user.clone(),
                role: k.role.min(u.role),
                team: u.team.clone(),
            })
        })
    }

    /// The API tokens (never their secrets), oldest first: every user's
    /// for `None`, else `user`'s.
    pub fn tokens(&self, user: Option<&str>) -> Vec<TokenInfo> {
        let s = self.saved.read().unwrap_or_else(|e| e.into_inner());
        s.tokens
            .iter()
            .filter(|t| user.map_or(true, |u| t.user == u))
            .map(|t| TokenInfo {
                id: t.id.clone(),
                user: t.user.clone(),
                role: t.role,
                created_ms: t.created_ms,
            })
            .collect()
    }

    /// Revokes token `id` if `by` may (its own, or any for an admin);
    /// whether it did.
    pub fn revoke_token(&self, id: &str, by: &Principal) -> Result<bool, AuthError> {
        let mut s = self.saved.write().unwrap_or_else(|e| e.into_inner());
        let before = s.tokens.len();
        s.tokens
            .retain(|t| t.id != id || (by.role < Role::Admin && t.user != by.user));
        if s.tokens.len() == before {
            return Ok(false);
        }
        self.save(&s)?;
        Ok(true)
    }

    /// Makes an API token for `p` with `role` (at most `p`'s): (id, secret).
    pub fn make_token(
        &self,
        p: &Principal,
        role: Role,
        now_ms: i64,
    ) -> Result<(String, String), AuthError> {
        if role > p.role {
            return Err(AuthError::Bad(
                "a token cannot have more than its user's role".into(),
            ));
        }
        if !self
            .saved
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .users
            .contains_key(&p.user)
        {
            return Err(AuthError::Bad(format!("'{}' is not a user", p.user)));
        }
        let secret = format!("sonde_{}", random_hex(24));
        let id = random_hex(6);
        let mut s = self.saved.write().unwrap_or_else(|e| e.into_inner());
        s.tokens.push(ApiToken {
            id: id.clone(),
            user: p.user.clone(),
            role,
            sha256: sha256_hex(&secret),
            created_ms: now_ms,
        });
        self.save(&s)?;
        Ok((id, secret))
    }
}

/// An API token as listed: no secret, no digest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TokenInfo {
    /// Its id (what revokes it).
    pub id: String,
    /// Whose it is.
    pub user: String,
    /// Its role (it never has more than its user has now).
    pub role: Role,
    /// When it was made, ms since the epoch.
    pub created_ms: i64,
}

/// Refuses to take `name`'s admin role away when it is the last admin's.
fn last_admin(s: &Saved, name: &str) -> Result<(), AuthError> {
    let admin = |u: &User| u.role == Role::Admin;
    let is_admin = s.users.get(name).is_some_and(admin);
    if is_admin && s.users.values().filter(|u| admin(u)).count() == 1 {
        return Err(AuthError::Bad(format!(
            "'{name}' is the last admin: make another admin first"
        )));
    }
    Ok(())
}

/// A Kubernetes namespace name (RFC 1123 label).
fn valid_namespace(n: &str) -> bool {
    !n.is_empty()
        && n.len() <= 63
        && n.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !n.starts_with('-')
        && !n.ends_with('-')
}

fn write_private(path: &Path, data: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    #[cfg(unix)]
    use std::os::unix::fs::OpenOptionsExt;
    let mut o = std::fs::OpenOptions::new();
    o.write(true).create(true).truncate(true);
    #[cfg(unix)]
    o.mode(0o600);
    let mut f = o.open(path)?;
    f.write_all(data)?;
    f.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn users_sessions_tokens() {
        let a = Auth::new(vec![Token::new("static-admin")]);
        assert_eq!(a.token("static-admin").map(|p| p.role), Some(Role::Admin));
        assert!(a.set_user("v", "short", Role::Viewer, None).is_err());
        a.set_user("v", "viewer-pass", Role::Viewer, None).unwrap();
        assert!(a.verify("v", "wrong-pass").is_none());
        let p = a.verify("v", "viewer-pass").unwrap();
        assert_eq!(p.role, Role::Viewer);
        let s = a.start_session(p.clone(), 1000);
        assert_eq!(a.session(&s, 2000), Some(p.clone()));
        assert_eq!(a.session(&s, 1000 + SESSION_MS), None);
        assert!(a.make_token(&p, Role::Editor, 0).is_err());
        let (_, t) = a.make_token(&p, Role::Viewer, 0).unwrap();
        assert_eq!(a.token(&t), Some(p));
        a.end_session(&s);
        assert_eq!(a.session(&s, 2000), None);
        assert!(a.delete_user("v").unwrap());
        assert_eq!(a.token(&t), None);
        assert!(check_name("token").is_err());
    }

    #[test]
    fn users_change_and_tokens_are_listed_and_revoked() {
        let a = Auth::new(vec![]);
        a.set_user("root", "root-pass-1", Role::Admin, None)
            .unwrap();
        assert!(a.delete_user("root").is_err(), "the last admin");
        assert!(a
            .update_user("root", Some(Role::Editor), None, None)
            .is_err());
        a.set_user("ed", "ed-pass-01", Role::Viewer, None).unwrap();
        let s = a.start_session(a.verify("ed", "ed-pass-01").unwrap(), 0);
        assert!(a.update_user("ed", Some(Role::Editor), None, None).unwrap());
        assert_eq!(a.session(&s, 1), None, "a change ends its sessions");
        assert!(a.update_user("ed", None, Some(Some("nope")), None).is_err());
        assert!(!a
            .update_user("ghost", Some(Role::Viewer), None, None)
            .unwrap());
        a.update_user("ed", None, None, Some("new-pass-01"))
            .unwrap();
        let ed = a.verify("ed", "new-pass-01").unwrap();
        assert_eq!(ed.role, Role::Editor, "the role kept");
        let root = a.verify("root", "root-pass-1").unwrap();
        let (id1, secret) = a.make_token(&ed, Role::Viewer, 5).unwrap();
        let (id2, _) = a.make_token(&root, Role::Admin, 6).unwrap();
        let all = a.tokens(None);
        assert_eq!(all.len(), 2);
        assert_eq!((all[0].id.as_str(), all[0].created_ms), (id1.as_str(), 5));
        assert!(!format!("{all:?}").contains(&secret));
        assert_eq!(a.tokens(Some("ed")).len(), 1);
        // an editor revokes its own only; an admin any
        assert!(!a.revoke_token(&id2, &ed).unwrap());
        assert!(a.revoke_token(&id1, &ed).unwrap());
        assert_eq!(a.token(&secret), None);
        assert!(a.revoke_token(&id2, &root).unwrap());
        assert!(a.tokens(None).is_empty());
    }

    #[test]
    fn teams_scope_users_and_their_tokens() {
        let a = Auth::new(vec![]);
        assert!(a
            .set_user("t", "team-pass-1", Role::Viewer, Some("shop"))
            .is_err());
        assert!(a.set_team("shop", vec!["Shop".into()]).is_err());
        a.set_team("shop", vec!["shop".into(), "shop-2".into()])
            .unwrap();
        a.set_user("t", "team-pass-1", Role::Editor, Some("shop"))
            .unwrap();
        let p = a.verify("t", "team-pass-1").unwrap();
        assert_eq!(p.team.as_deref(), Some("shop"));
        assert_eq!(a.namespaces(&p), Some(vec!["shop".into(), "shop-2".into()]));
        let (_, tok) = a.make_token(&p, Role::Viewer, 0).unwrap();
        assert_eq!(a.token(&tok).and_then(|p| p.team), Some("shop".into()));
        assert!(a.delete_team("shop").is_err(), "a user is in it");
        a.set_user("u", "other-pass-1", Role::Viewer, None).unwrap();
        assert_eq!(a.namespaces(&a.verify("u", "other-pass-1").unwrap()), None);
        a.delete_user("t").unwrap();
        assert!(a.delete_team("shop").unwrap());
        assert_eq!(a.namespaces(&p), Some(vec![]), "a gone team sees nothing");
    }
}
