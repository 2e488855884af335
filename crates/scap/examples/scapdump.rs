//! Prints a summary of every block in a capture file.
use sonde_scap::{Block, FileReader};

fn main() {
    let path = std::env::args().nth(1).expect("usage: scapdump FILE");
    let mut r = match FileReader::open(path.as_ref()) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(2);
        }
    };
    let (mut evts, mut first) = (0u64, true);
    loop {
        match r.next_block() {
            Ok(None) => break,
            Ok(Some(Block::Event(e))) => {
                evts += 1;
                if first || evts <= 3 {
                    println!(
                        "event ts={} tid={} code={} cpu={} nparams={}",
                        e.ts,
                        e.tid,
                        e.code,
                        e.cpu,
                        e.nparams()
                    );
                    first = false;
                }
            }
            Ok(Some(Block::Threads(t))) => println!(
                "threads: {} (first tid {:?})",
                t.len(),
                t.first().map(|t| t.tid)
            ),
            Ok(Some(Block::Fds { tid, fds })) => println!("fds of {tid}: {}", fds.len()),
            Ok(Some(b)) => println!("{b:?}"),
            Err(e) => {
                println!("events: {evts}");
                eprintln!("error: {e}");
                std::process::exit(2);
            }
        }
    }
    println!("events: {evts}");
}
