//! `-L`: the event list, in sysdig's format.

use std::io::Write;

use sonde_event::{Direction, EVENTS};

pub fn list_events(out: &mut impl Write) -> std::io::Result<()> {
    for e in EVENTS.iter() {
        if e.flags & sonde_event::flags::UNUSED != 0
            || e.old_flags & sonde_event::flags::OLD_VERSION != 0
        {
            continue;
        }
        let dir = if e.dir == Direction::Enter { ">" } else { "<" };
        let params: Vec<String> = e
            .params
            .iter()
            .map(|p| format!("{} {}", p.ptype.name(), p.name))
            .collect();
        writeln!(out, "{} {}({})", dir, e.name, params.join(", "))?;
    }
    Ok(())
}
