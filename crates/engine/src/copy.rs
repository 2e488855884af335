//! The plain-copy loop: when every sink takes undecoded event blocks and
//! nothing reads the state after each file's header (a plain `-w`), v2
//! event blocks go from the file to the sinks as they came in.

use sonde_scap::blocks as b;
use sonde_scap::{Block, FileReader};

use crate::engine::{Engine, Report};
use crate::events::LoopEnd;
use crate::sink::SinkError;
use crate::source::SourceError;

impl Engine<'_> {
    /// Copies `r`'s event blocks to the sinks; metadata blocks go to the
    /// state (which the sinks read for each file's header).
    pub(crate) fn copy_blocks(
        &mut self,
        r: &mut FileReader,
        report: &mut Report,
    ) -> Result<LoopEnd, SinkError> {
        let max = self.cfg.max_events.unwrap_or(u64::MAX);
        let mut v2 = Vec::with_capacity(1 << 20);
        loop {
            // runs of event blocks go out whole: v2 ones as the bytes they
            // are, old ones rewritten in the v2 layout in one go
            let left = max.saturating_sub(report.events);
            let run = match r.next_event_span(left) {
                Some(s) => Some((s.bytes, s.events, s.first_ts)),
                None => r
                    .next_v1_span_as_v2(left, &mut v2)
                    .map(|(n, ts)| (&v2[..], n, ts)),
            };
            if let Some((bytes, events, first_ts)) = run {
                report.events += events;
                for s in &mut self.sinks {
                    s.raw_blocks(&self.st, bytes, events, first_ts)?;
                }
                if report.events >= max || self.stop.is_stopped() {
                    return Ok(LoopEnd::Done(None));
                }
                continue;
            }
            let at = r.offset();
            let (bt, body) = match r.next_raw_block() {
                Ok(Some(x)) => x,
                Ok(None) => return Ok(LoopEnd::Done(None)),
                Err(e) => return Ok(LoopEnd::Done(Some(SourceError::File(e)))),
            };
            match bt {
                b::EV_V2 | b::EVF_V2 | b::EV_V2_LARGE | b::EVF_V2_LARGE => {
                    if !sonde_scap::event_block_known(body, bt) {
                        continue;
                    }
                    report.events += 1;
                    let ts = sonde_scap::event_block_ts(bt, body);
                    for s in &mut self.sinks {
                        s.raw_block(&self.st, bt, body, ts)?;
                    }
                }
                b::EV | b::EV_INT | b::EVF
                    if sonde_scap::event_block_known(body, bt)
                        && sonde_scap::v1_event_to_v2(body, bt, &mut v2).is_some() =>
                {
                    // old blocks: the same bytes with the parameter count added
                    let nbt = if bt == b::EVF { b::EVF_V2 } else { b::EV_V2 };
                    report.events += 1;
                    let ts = sonde_scap::event_block_ts(nbt, &v2);
                    for s in &mut self.sinks {
                        s.raw_block(&self.st, nbt, &v2, ts)?;
                    }
                }
                b::SHB => {}
                _ => match sonde_scap::decode_block(body, bt) {
                    Ok(Some(Block::Event(ev))) => {
                        // old (v1) event blocks are rewritten in the v2 layout
                        report.events += 1;
                        for s in &mut self.sinks {
                            s.filtered(&self.st, &ev, true)?;
                        }
                    }
                    Ok(Some(other)) => self.st.apply_block(&other),
                    Ok(None) => {}
                    Err(m) => {
                        let kind = sonde_scap::ErrorKind::Corrupt(m);
                        let e = sonde_scap::Error::new(at, kind);
                        return Ok(LoopEnd::Done(Some(SourceError::File(e))));
                    }
                },
            }
            if report.events >= max || self.stop.is_stopped() {
                return Ok(LoopEnd::Done(None));
            }
        }
    }
}
