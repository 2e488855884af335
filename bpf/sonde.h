/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What the probe and sonde-probe's user space agree on. Keep in sync with
 * crates/probe/src/abi.rs.
 *
 * Every ring-buffer record is a `struct rec_prefix` followed by one event in
 * sonde's v2 layout: ts u64, tid u64, len u32, type u16, nparams u32, then
 * nparams u16 lengths, then the parameter data (see crates/event).
 */
#ifndef SONDE_H
#define SONDE_H

/* Probe-private data in front of each event; stripped by user space. */
struct rec_prefix {
	__u64 latency_ns; /* exit ts - enter ts of the syscall, 0 if unknown */
	__u32 cpu;
	__u32 reserved;
};

#define PREFIX_LEN 16
#define EVT_HDR_LEN 26

/* Indexes of the per-CPU drop counters (map `drops`). */
enum drop_category {
	DROP_GENERIC = 0, /* generic syscall events */
	DROP_FILE = 1,	  /* open family, close, read/write, rename, unlink, pipe, dup */
	DROP_NET = 2,	  /* socket, connect, accept, bind, listen */
	DROP_PROC = 3,	  /* execve, clone family, procexit */
	DROP_CATEGORIES = 4,
};

/* Value of map `syscalls`, indexed by native syscall number. */
struct syscall_conf {
	__u16 ppm_sc;	  /* PPM_SC code for the generic event's ID */
	__u8 interesting; /* 0: no event at all for this syscall */
	__u8 reserved;
};

#define MAX_SYSCALLS 512

#endif
