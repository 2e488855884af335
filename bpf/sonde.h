/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What the probe and sonde-probe's user space agree on. Keep in sync with
 * crates/probe/src/abi.rs.
 *
 * Every ring-buffer record is a `struct rec_prefix` followed by either one
 * event in sonde's v2 layout (REC_EVENT: ts u64, tid u64, len u32, type u16,
 * nparams u32, then nparams u16 lengths, then the parameter data; see
 * crates/event) or a short generic syscall event (REC_GENERIC).
 */
#ifndef SONDE_H
#define SONDE_H

/* Probe-private data in front of each record; stripped by user space. */
struct rec_prefix {
	__u64 latency_ns; /* exit ts - enter ts of the syscall, 0 if unknown */
	__u32 size;	  /* bytes of the record, this prefix included, unpadded */
	__u32 kind;	  /* REC_EVENT or REC_GENERIC */
};

/* Record kinds. */
#define REC_EVENT 0   /* an event in sonde's v2 layout follows */
#define REC_GENERIC 1 /* a struct rec_generic follows */

/* The most frequent event, PPME_GENERIC_X (ID, nativeID), in short: user
 * space writes it out in the v2 layout. 32 bytes with the prefix, against 56
 * for the full event: fewer stores and fewer cache lines per syscall. */
struct rec_generic {
	__u64 ts;
	__u32 tid;
	__u16 ppm_sc; /* ID */
	__u16 nr;     /* nativeID */
};

#define PREFIX_LEN 16
#define EVT_HDR_LEN 26

/*
 * Per-CPU buffers (map `cpu_bufs`, one entry per CPU, mmapped by user space).
 * Each entry: the scratch space an event is built in (`struct aux`, padded to
 * AUX_STRUCT_SIZE), the ring's positions, then the ring itself.
 *
 *   [AUX_STRUCT_SIZE: struct aux][head u64 @RING_HDR_OFF][tail u64 @+64]...
 *   [ring: ring size bytes @RING_DATA_OFF][slack: RING_SLACK bytes]
 *
 * head (written by the probe) and tail (written by user space) count bytes
 * since the start and only grow. A record (see above) is padded to 8 bytes and written contiguously at head % ring size; one that
 * starts near the end runs on into the slack, and the next one starts at the
 * following position modulo the ring size. The probe fills a record, then
 * publishes it by moving head; user space reads records up to head, then
 * moves tail. Only programs on the entry's own CPU write to it, one at a time
 * (syscall tracepoint programs run with preemption disabled).
 */
#define AUX_STRUCT_SIZE ((1 << 17) + 4096)
#define RING_HDR_OFF AUX_STRUCT_SIZE
#define RING_TAIL_OFF (RING_HDR_OFF + 64)
#define RING_DATA_OFF (AUX_STRUCT_SIZE + 4096)
#define RING_SLACK (1 << 17)

/* Indexes of the per-CPU drop counters (map `drops`). */
enum drop_category {
	DROP_GENERIC = 0, /* generic syscall events, memory, waits, switches, page faults */
	DROP_FILE = 1,	  /* files, directories, I/O, pipes, dup, fcntl, special fds */
	DROP_NET = 2,	  /* sockets */
	DROP_PROC = 3,	  /* execve, clone family, procexit, signals, ids, namespaces */
	DROP_CATEGORIES = 4,
};

/* Value of map `syscalls`, indexed by native syscall number. */
struct syscall_conf {
	__u16 ppm_sc;	  /* PPM_SC code for the generic event's ID */
	__u8 trace;	  /* SC_* bits; 0: no event at all for this syscall */
	__u8 generic;	  /* 1: no event of its own (PPME_GENERIC_X), no handler */
};

/* Bits of syscall_conf.trace. */
#define SC_EXIT 1  /* traced: sys_exit emits its event */
#define SC_ENTER 2 /* sys_enter has work: an enter event, the enter timestamp
		    * (evt.latency), or marking execveat */
#define SC_COUNT 4 /* counted in the kernel (map `counts`), no event: for
		    * syscalls whose reader only counts them */

/* Key of map `counts`: calls of one syscall by one process with one result. */
struct count_key {
	__u32 tgid;
	__u16 nr;    /* native syscall number */
	__u16 err; /* 0: success; else -return value (the errno) */
};

/* Entries of map `counts` (processes x counted syscalls x results). */
#define MAX_COUNT_KEYS 16384

#define MAX_SYSCALLS 512

#endif
