//! Workloads for `scripts/bench-live.sh` (a benchmark helper, not a test):
//!
//! ```text
//! syscall_loop getppid N    N getppid() calls
//! syscall_loop read N       N 1-byte read()s from /dev/zero
//! syscall_loop fork N       N fork() + _exit(0) children, each waited for
//! syscall_loop exec N       N fork() + execve("/bin/true") children, each waited for
//! ```
//!
//! Prints one line on stdout: `<mode> <N> <total ns> <ns per op> <CPU ns per
//! op>` (for fork and exec an op is a whole child's life: fork, exit/exec,
//! wait; CPU time is the loop's own user + system time, children excluded).
use std::ffi::CString;
use std::time::Instant;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (Some(mode), Some(n)) = (args.get(1), args.get(2).and_then(|s| s.parse::<u64>().ok()))
    else {
        eprintln!("usage: syscall_loop getppid|read|fork|exec N");
        std::process::exit(2);
    };
    let cpu0 = cpu_ns();
    let start = Instant::now();
    match mode.as_str() {
        "getppid" => {
            for _ in 0..n {
                // the raw syscall: no libc caching can skip it
                // SAFETY: getppid has no arguments and cannot fail.
                unsafe { libc::syscall(libc::SYS_getppid) };
            }
        }
        "read" => {
            let path = CString::new("/dev/zero").unwrap();
            // SAFETY: valid NUL-terminated path.
            let fd = unsafe { libc::open(path.as_ptr(), libc::O_RDONLY) };
            assert!(fd >= 0, "cannot open /dev/zero");
            let mut b = [0u8; 1];
            for _ in 0..n {
                // SAFETY: 1-byte buffer, valid fd.
                let r = unsafe { libc::read(fd, b.as_mut_ptr().cast(), 1) };
                assert_eq!(r, 1);
            }
            // SAFETY: fd is ours.
            unsafe { libc::close(fd) };
        }
        "fork" | "exec" => {
            let exec = mode == "exec";
            let prog = CString::new("/bin/true").unwrap();
            let argv = [prog.as_ptr(), std::ptr::null()];
            let envp = [std::ptr::null()];
            for _ in 0..n {
                // SAFETY: the child only calls async-signal-safe functions.
                let pid = unsafe { libc::fork() };
                if pid == 0 {
                    unsafe {
                        if exec {
                            libc::execve(prog.as_ptr(), argv.as_ptr(), envp.as_ptr());
                        }
                        libc::_exit(0);
                    }
                }
                assert!(pid > 0, "fork failed");
                let mut status = 0;
                // SAFETY: waiting for our own child.
                unsafe { libc::waitpid(pid, &mut status, 0) };
            }
        }
        _ => {
            eprintln!("syscall_loop: unknown mode {mode}");
            std::process::exit(2);
        }
    }
    let ns = start.elapsed().as_nanos() as u64;
    let cpu = cpu_ns() - cpu0;
    println!(
        "{mode} {n} {ns} {:.1} {:.1}",
        ns as f64 / n.max(1) as f64,
        cpu as f64 / n.max(1) as f64
    );
}

/// CPU time (user + system) this process used so far, in ns: unlike wall
/// time it does not count time the workload waited for a CPU.
fn cpu_ns() -> u64 {
    // SAFETY: an all-zero rusage is valid; getrusage fills it.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: valid pointer to a rusage.
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) };
    let tv = |t: libc::timeval| t.tv_sec as u64 * 1_000_000_000 + t.tv_usec as u64 * 1000;
    tv(ru.ru_utime) + tv(ru.ru_stime)
}
