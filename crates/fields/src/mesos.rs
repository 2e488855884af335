//! The `mesos.*` and `marathon.*` fields (sysdig's `mesos` class): a
//! capture has no orchestrator to ask, so they never have a value; the
//! registry rows mark them unavailable. `mesos.task.name` parses (the
//! `-pm` format names it) and prints `<NA>`.

use crate::error::FieldError;
use crate::field::Field;
use crate::row::{class, flags::*, FieldClass, FieldInfo, FieldType as T};

/// Parses a `mesos.*` field sonde knows.
pub(crate) fn parse(
    _name: &str,
    base: &str,
    _arg: Option<&str>,
) -> Option<Result<Field, FieldError>> {
    (base == "mesos.task.name").then_some(Ok(Field::MesosTaskName))
}

/// The value of `mesos.task.name`: none.
#[inline]
pub(crate) fn extract() -> bool {
    false
}

/// The `mesos` class of `sysdig -l`.
#[rustfmt::skip]
pub(crate) const CLASS: FieldClass = FieldClass { name: "mesos", shortdesc: "", desc: "Mesos related context." };

/// Its rows of the field registry, in `sysdig -l` order.
#[rustfmt::skip]
pub(crate) const ROWS: &[FieldInfo] = &[
    FieldInfo { name: "mesos.task.name", class: class::MESOS, ty: T::Charbuf, flags: UNAVAILABLE, desc: "Mesos task name." },
    FieldInfo { name: "mesos.task.id", class: class::MESOS, ty: T::Charbuf, flags: UNAVAILABLE, desc: "Mesos task id." },
    FieldInfo { name: "mesos.task.label", class: class::MESOS, ty: T::Charbuf, flags: ARG_DOT | ARG_KEY | ARG_REQUIRED | UNAVAILABLE, desc: "Mesos task label. E.g. 'mesos.task.label.foo'." },
    FieldInfo { name: "mesos.task.labels", class: class::MESOS, ty: T::Charbuf, flags: UNAVAILABLE, desc: "Mesos task comma-separated key/value labels. E.g. 'foo1:bar1,foo2:bar2'." },
    FieldInfo { name: "mesos.framework.name", class: class::MESOS, ty: T::Charbuf, flags: UNAVAILABLE, desc: "Mesos framework name." },
    FieldInfo { name: "mesos.framework.id", class: class::MESOS, ty: T::Charbuf, flags: UNAVAILABLE, desc: "Mesos framework id." },
    FieldInfo { name: "marathon.app.name", class: class::MESOS, ty: T::Charbuf, flags: UNAVAILABLE, desc: "Marathon app name." },
    FieldInfo { name: "marathon.app.id", class: class::MESOS, ty: T::Charbuf, flags: UNAVAILABLE, desc: "Marathon app id." },
    FieldInfo { name: "marathon.app.label", class: class::MESOS, ty: T::Charbuf, flags: ARG_DOT | ARG_KEY | ARG_REQUIRED | UNAVAILABLE, desc: "Marathon app label. E.g. 'marathon.app.label.foo'." },
    FieldInfo { name: "marathon.app.labels", class: class::MESOS, ty: T::Charbuf, flags: UNAVAILABLE, desc: "Marathon app comma-separated key/value labels. E.g. 'foo1:bar1,foo2:bar2'." },
    FieldInfo { name: "marathon.group.name", class: class::MESOS, ty: T::Charbuf, flags: UNAVAILABLE, desc: "Marathon group name." },
    FieldInfo { name: "marathon.group.id", class: class::MESOS, ty: T::Charbuf, flags: UNAVAILABLE, desc: "Marathon group id." },
];
