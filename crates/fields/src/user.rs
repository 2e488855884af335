//! The `user.*` and `group.*` fields (sysdig's `user` and `group`
//! classes): their names, parsing, extraction and registry rows, read from
//! the user and group tables of the state. Semantics follow libsinsp
//! 0.29.3 (`sinsp_filter_check_user`, `sinsp_filter_check_group`).

use crate::ctx::{write_i, Ctx};
use crate::error::FieldError;
use crate::extra::Extra;
use crate::field::Field;
use crate::row::{class, FieldClass, FieldInfo, FieldType as T};
use crate::value::Value;

/// Parses a `user.*` or `group.*` field.
pub(crate) fn parse(
    _name: &str,
    base: &str,
    _arg: Option<&str>,
) -> Option<Result<Field, FieldError>> {
    Some(Ok(match base {
        "user.uid" => Field::UserUid,
        "user.name" => Field::UserName,
        "user.homedir" => Field::UserHomedir,
        "user.shell" => Field::UserShell,
        "user.loginuid" => Field::UserLoginuid,
        "group.gid" => Field::GroupGid,
        "group.name" => Field::GroupName,
        "user.loginname" => Field::Extra(Extra::UserLoginname),
        _ => return None,
    }))
}

impl Ctx<'_, '_> {
    /// Appends the value of a `user.*` or `group.*` variant of [`Field`];
    /// false when it has none.
    pub(crate) fn extract_user(&self, f: &Field, out: &mut Vec<u8>) -> bool {
        match f {
            Field::UserUid => match self.thread() {
                Some(t) => write_i(out, t.uid),
                None => return false,
            },
            Field::UserName | Field::UserHomedir | Field::UserShell => {
                let Some(t) = self.thread() else { return false };
                let Some(u) = self.st.users.get(&t.uid) else {
                    return false;
                };
                out.extend_from_slice(match f {
                    Field::UserName => &u.name,
                    Field::UserHomedir => &u.homedir,
                    _ => &u.shell,
                });
            }
            Field::UserLoginuid => match self.thread() {
                Some(t) => write_i(out, t.loginuid as i32),
                None => return false,
            },
            Field::GroupGid => match self.thread() {
                Some(t) => write_i(out, t.gid),
                None => return false,
            },
            Field::GroupName => {
                let Some(t) = self.thread() else { return false };
                let Some(g) = self.st.groups.get(&t.gid) else {
                    return false;
                };
                out.extend_from_slice(&g.name);
            }
            _ => return false,
        }
        true
    }

    /// The typed value of `user.uid` (see [`Ctx::extract_value`]).
    #[inline]
    pub(crate) fn user_value(&self) -> Option<Value<'static>> {
        self.thread().map(|t| Value::Uint(t.uid as u64))
    }

    /// `user.loginname`: the name of the login user.
    pub(crate) fn extract_loginname(&self, out: &mut Vec<u8>) -> bool {
        let Some(t) = self.st.event_thread(self.ev) else {
            return false;
        };
        match self.st.users.get(&t.loginuid) {
            Some(u) => {
                out.extend_from_slice(&u.name);
                true
            }
            None => false,
        }
    }
}

/// The `user` class of `sysdig -l`.
#[rustfmt::skip]
pub(crate) const CLASS: FieldClass = FieldClass { name: "user", shortdesc: "", desc: "Information about the user executing the specific event." };

/// Its rows of the field registry, in `sysdig -l` order.
#[rustfmt::skip]
pub(crate) const ROWS: &[FieldInfo] = &[
    FieldInfo { name: "user.uid", class: class::USER, ty: T::Uint32, flags: 0, desc: "user ID." },
    FieldInfo { name: "user.name", class: class::USER, ty: T::Charbuf, flags: 0, desc: "user name." },
    FieldInfo { name: "user.homedir", class: class::USER, ty: T::Charbuf, flags: 0, desc: "home directory of the user." },
    FieldInfo { name: "user.shell", class: class::USER, ty: T::Charbuf, flags: 0, desc: "user's shell." },
    FieldInfo { name: "user.loginuid", class: class::USER, ty: T::Int32, flags: 0, desc: "audit user id (auid)." },
    FieldInfo { name: "user.loginname", class: class::USER, ty: T::Charbuf, flags: 0, desc: "audit user name (auid)." },
];

/// The `group` class of `sysdig -l`.
#[rustfmt::skip]
pub(crate) const GROUP_CLASS: FieldClass = FieldClass { name: "group", shortdesc: "", desc: "Information about the user group." };

/// Its rows of the field registry, in `sysdig -l` order.
#[rustfmt::skip]
pub(crate) const GROUP_ROWS: &[FieldInfo] = &[
    FieldInfo { name: "group.gid", class: class::GROUP, ty: T::Uint64, flags: 0, desc: "group ID." },
    FieldInfo { name: "group.name", class: class::GROUP, ty: T::Charbuf, flags: 0, desc: "group name." },
];
