//! The category sysdig 0.29.3 gives each syscall code (`PPM_SC_*`), for
//! generic `syscall` events whose own table entry says nothing: a fact
//! table transcribed from libscap's syscall info table at e5c53d648
//! (0 unknown, 1 other, 2 file, 3 net, 4 IPC, 5 memory, 6 process, 7 sleep,
//! 8 system, 9 signal, 10 user, 11 time, 32/33/34 I/O read/write/other,
//! 64 wait).

/// Category by syscall code; codes past the end have none.
pub const SYSCALL_CATEGORY: [u8; 329] = [
    1, 8, 6, 32, 33, 2, 2, 2, 2, 2, 2, 11, 2, 2, 2, 2, 6, 2, 1, 11, 2, 64, 11, 2, 34, 4, 2, 2, 2,
    34, 4, 11, 5, 6, 34, 64, 6, 6, 4, 2, 34, 6, 6, 6, 8, 6, 6, 11, 11, 2, 2, 2, 6, 6, 8, 2, 2, 2,
    2, 2, 6, 6, 2, 2, 8, 11, 11, 8, 1, 64, 8, 8, 34, 8, 8, 5, 8, 8, 8, 6, 2, 8, 6, 2, 64, 2, 34,
    32, 33, 6, 34, 5, 5, 5, 5, 6, 6, 6, 6, 7, 6, 6, 6, 7, 2, 64, 6, 9, 9, 9, 9, 9, 9, 2, 6, 6, 2,
    6, 2, 10, 10, 10, 10, 10, 10, 10, 10, 2, 10, 10, 10, 10, 2, 10, 10, 10, 10, 6, 5, 5, 6, 2, 2,
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 9, 4, 6, 6, 6, 6, 34, 34, 34, 34, 34, 34, 64, 64, 64, 2, 6, 11,
    11, 11, 11, 11, 11, 11, 11, 7, 9, 2, 4, 4, 4, 4, 4, 4, 8, 64, 8, 8, 8, 6, 6, 4, 4, 4, 2, 2, 2,
    2, 2, 2, 2, 2, 2, 2, 2, 2, 64, 64, 6, 6, 6, 4, 4, 4, 6, 64, 2, 9, 11, 4, 11, 11, 9, 4, 64, 34,
    4, 4, 32, 33, 1, 1, 4, 6, 1, 2, 6, 4, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 4,
    4, 4, 4, 4, 4, 4, 4, 4, 4, 2, 2, 2, 2, 6, 1, 9, 4, 3, 2, 2, 2, 2, 2, 64, 9, 9, 9, 8, 2, 9, 6,
    11, 2, 64, 2, 2, 6, 4, 9, 34, 34, 34, 34, 34, 34, 34, 34, 34, 34, 34, 34, 34, 34, 34, 8, 1, 1,
    34, 34, 34, 2, 2, 2, 2, 8, 8, 2, 6, 6,
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_codes() {
        assert_eq!(SYSCALL_CATEGORY.len(), 329);
        // read is an I/O read, mprotect a memory call, exit a process one
        let cat = |name: &str| {
            let id = (0..329u32)
                .find(|&i| sonde_event::syscall_name(i) == Some(name))
                .unwrap();
            SYSCALL_CATEGORY[id as usize]
        };
        assert_eq!(cat("read"), 32);
        assert_eq!(cat("mprotect"), 5);
        assert_eq!(cat("exit"), 6);
    }
}
