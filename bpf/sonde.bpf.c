// SPDX-License-Identifier: Apache-2.0
/*
 * sonde's kernel side: syscall and process-lifecycle events in sonde's event
 * model (falcosecurity/libs event table, crates/event/data/events.tsv), sent
 * to user space through one BPF ring buffer.
 *
 * Model: one exit event per syscall carrying all its parameters; enter events
 * only for the open family, creat and connect. Syscalls without a dedicated
 * handler become PPME_GENERIC_X (ID = PPM_SC code, nativeID = syscall nr).
 * Syscalls user space only counts (SC_COUNT) send no event: sys_exit counts
 * them per process, syscall and errno in map `counts`.
 *
 * Programs: tp_btf sys_enter / sys_exit, sched_process_fork / exec / exit,
 * and (sched.bpf.h) signal_deliver, sched_switch and page_fault_user.
 * x86_64 only for now (syscall numbers and pt_regs argument registers).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include "events_gen.h" /* PPME_* codes, generated from events.tsv */
#include "event.h"

/* Big handlers are global BPF functions: each is verified once, on its own.
 * To the verifier their pointer arguments may be NULL, hence the checks that
 * open them. */
#define __noinline __attribute__((noinline))

/* The kernel must see a GPL-compatible license for the tracing helpers. */
char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* Set by user space before load. */
const volatile __u32 self_tgid = 0;	/* the capturing process, never traced */
const volatile __u32 snaplen = 80;	/* bytes of read/write data to capture */
const volatile __u8 filter_tgids = 0;	/* trace only tgids in `tgids` (and their children) */
const volatile __u8 filter_comms = 0;	/* drop events of tasks whose comm is in `comms` (-U) */
/* Keep each thread's enter timestamp for evt.latency. Off when nothing
 * reads latency: sys_enter then has nothing to do for most syscalls, which
 * saves a clock read (about 20 ns on the VMs measured) per syscall. */
const volatile __u8 want_latency = 1;

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, MAX_SYSCALLS);
	__type(key, __u32);
	__type(value, struct syscall_conf);
} syscalls SEC(".maps");

/* Per-thread enter timestamp of the syscall in progress (0: none), for
 * evt.latency. Indexed by tid in a plain array sized to pid_max by user space:
 * the lookup compiles to a bounds check and an add, no helper call. When
 * pid_max is too large for that, task-local storage instead. */
const volatile __u8 enter_in_array = 1;
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1); /* pid_max, set by user space */
	__type(key, __u32);
	__type(value, __u64);
} enter_slots SEC(".maps");
struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, __u64);
} enter_tasks SEC(".maps");

static __always_inline __u64 *enter_slot(struct task_struct *t, __u32 tid, __u64 create)
{
	if (enter_in_array)
		return bpf_map_lookup_elem(&enter_slots, &tid);
	return bpf_task_storage_get(&enter_tasks, t, 0, create);
}

/* Calls of the counted syscalls (SC_COUNT), per CPU: user space sums the
 * CPUs and takes differences. A key that does not fit counts in
 * `counts_lost`. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, MAX_COUNT_KEYS);
	__type(key, struct count_key);
	__type(value, __u64);
} counts SEC(".maps");
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} counts_lost SEC(".maps");

/* Counts one call of a counted syscall (no event). */
static __always_inline void count_call(__u32 tgid, long id, long ret)
{
	struct count_key k = { .tgid = tgid, .nr = id, .err = ret < 0 && ret > -4096 ? -ret : 0 };
	__u64 one = 1, *n = bpf_map_lookup_elem(&counts, &k);
	__u32 zero = 0;

	if (n) {
		*n += 1;
		return;
	}
	if (bpf_map_update_elem(&counts, &k, &one, BPF_NOEXIST)) {
		n = bpf_map_lookup_elem(&counts_lost, &zero);
		if (n)
			*n += 1;
	}
}

/* Threads in a successful execveat: its sys_exit sees execve's number. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 256);
	__type(key, __u32);
	__type(value, __u8);
} in_execveat SEC(".maps");

/* The tgids traced when `filter_tgids` is set; children are added at fork. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, __u8);
} tgids SEC(".maps");

/* Task names whose events are dropped in the kernel (sysdig's -U COMM). */
struct comm_key {
	char s[16];
};
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 64);
	__type(key, struct comm_key);
	__type(value, __u8);
} comms SEC(".maps");

/* The file name a successful execve ran, saved at sched_process_exec. */
struct exec_name {
	char s[MAX_PATH];
};
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 256); /* execs in flight at once; 4 KiB each */
	__type(key, __u32);
	__type(value, struct exec_name);
} exec_names SEC(".maps");

/* x86_64 syscall numbers handled here (the sys_*.bpf.h headers define those
 * of their own handlers). */
#define NR_read 0
#define NR_write 1
#define NR_open 2
#define NR_close 3
#define NR_pipe 22
#define NR_dup 32
#define NR_dup2 33
#define NR_socket 41
#define NR_connect 42
#define NR_accept 43
#define NR_bind 49
#define NR_listen 50
#define NR_clone 56
#define NR_fork 57
#define NR_vfork 58
#define NR_execve 59
#define NR_rename 82
#define NR_creat 85
#define NR_unlink 87
#define NR_openat 257
#define NR_unlinkat 263
#define NR_renameat 264
#define NR_accept4 288
#define NR_dup3 292
#define NR_pipe2 293
#define NR_renameat2 316
#define NR_execveat 322
#define NR_clone3 435
#define NR_openat2 437

#include "flags.bpf.h"
#include "task.bpf.h"
#include "net.bpf.h"

/* ---- syscall handlers: each builds one complete event ---- */

/* A syscall being turned into an event. The arguments are copied out of the
 * trusted pt_regs by the program itself (plain loads, no helper calls). */
struct sc_ctx {
	__u64 args[5];	/* no handler needs the sixth argument */
	struct task_struct *task;
	long id;
	long ret;
	__u64 ts;
	__u64 latency;
	__u32 tid;
};

static __always_inline __u64 arg(struct sc_ctx *c, int n)
{
	return c->args[n < 4 ? n : 4];
}

static __always_inline void load_args(struct sc_ctx *c, struct pt_regs *regs)
{
	c->args[0] = regs->di;
	c->args[1] = regs->si;
	c->args[2] = regs->dx;
	c->args[3] = regs->r10;
	c->args[4] = regs->r8;
}

static __always_inline void fd_dev_ino(struct sc_ctx *c, __s64 fd, __u32 *dev, __u64 *ino,
				       __u32 *created)
{
	struct file *f = task_fd(c->task, fd);

	*dev = 0;
	*ino = 0;
	*created = 0;
	if (!f)
		return;
	file_dev_ino(f, dev, ino);
	if (BPF_CORE_READ(f, f_mode) & K_FMODE_CREATED)
		*created = PPM_O_F_CREATED;
}

__noinline int do_open_exit(struct aux *a, struct sc_ctx *c)
{
	if (!a || !c)
		return 0;
	__u32 dev, created;
	__u64 ino;
	__s64 dirfd = -100; /* AT_FDCWD */
	__u64 flags, mode, resolve = 0;
	const void *name;

	if (c->id == NR_open) {
		name = (void *)arg(c, 0), flags = arg(c, 1), mode = arg(c, 2);
	} else if (c->id == NR_creat) {
		name = (void *)arg(c, 0), flags = K_O_CREAT | K_O_WRONLY | K_O_TRUNC, mode = arg(c, 1);
	} else if (c->id == NR_openat) {
		dirfd = (int)arg(c, 0), name = (void *)arg(c, 1), flags = arg(c, 2), mode = arg(c, 3);
	} else { /* openat2 */
		struct open_how how = {};

		bpf_probe_read_user(&how, sizeof(how), (void *)arg(c, 2));
		dirfd = (int)arg(c, 0), name = (void *)arg(c, 1);
		flags = how.flags, mode = how.mode, resolve = how.resolve;
	}
	fd_dev_ino(c, c->ret, &dev, &ino, &created);
	if (c->id == NR_open) {
		evt_begin(a, PPME_SYSCALL_OPEN_X, 6, DROP_FILE);
		push_s64(a, c->ret);
		push_user_str(a, name);
		push_u32(a, open_flags_to_scap(flags) | created);
		push_u32(a, open_mode_to_scap(flags, mode));
	} else if (c->id == NR_creat) {
		evt_begin(a, PPME_SYSCALL_CREAT_X, 6, DROP_FILE);
		push_s64(a, c->ret);
		push_user_str(a, name);
		push_u32(a, open_mode_to_scap(flags, mode));
	} else {
		evt_begin(a, c->id == NR_openat ? PPME_SYSCALL_OPENAT_2_X : PPME_SYSCALL_OPENAT2_X,
			  c->id == NR_openat ? 7 : 8, DROP_FILE);
		push_s64(a, c->ret);
		push_s64(a, dirfd);
		push_user_str(a, name);
		push_u32(a, open_flags_to_scap(flags) | created);
		push_u32(a, open_mode_to_scap(flags, mode));
		if (c->id == NR_openat2)
			push_u32(a, openat2_resolve_to_scap(resolve));
	}
	push_u32(a, dev);
	push_u64(a, ino);
	if (c->id == NR_creat)
		push_u16(a, 0); /* creat_flags: overlay layers, TODO */
	return 0;
}

__noinline int do_open_enter(struct aux *a, struct sc_ctx *c)
{
	if (!a || !c)
		return 0;
	__u64 flags, mode, resolve = 0;

	switch (c->id) {
	case NR_open:
		flags = arg(c, 1), mode = arg(c, 2);
		evt_begin(a, PPME_SYSCALL_OPEN_E, 3, DROP_FILE);
		push_user_str(a, (void *)arg(c, 0));
		push_u32(a, open_flags_to_scap(flags));
		push_u32(a, open_mode_to_scap(flags, mode));
		break;
	case NR_creat:
		evt_begin(a, PPME_SYSCALL_CREAT_E, 2, DROP_FILE);
		push_user_str(a, (void *)arg(c, 0));
		push_u32(a, open_mode_to_scap(K_O_CREAT, arg(c, 1)));
		break;
	case NR_openat:
		flags = arg(c, 2), mode = arg(c, 3);
		evt_begin(a, PPME_SYSCALL_OPENAT_2_E, 4, DROP_FILE);
		push_s64(a, (int)arg(c, 0));
		push_user_str(a, (void *)arg(c, 1));
		push_u32(a, open_flags_to_scap(flags));
		push_u32(a, open_mode_to_scap(flags, mode));
		break;
	case NR_openat2: {
		struct open_how how = {};

		bpf_probe_read_user(&how, sizeof(how), (void *)arg(c, 2));
		evt_begin(a, PPME_SYSCALL_OPENAT2_E, 5, DROP_FILE);
		push_s64(a, (int)arg(c, 0));
		push_user_str(a, (void *)arg(c, 1));
		push_u32(a, open_flags_to_scap(how.flags));
		push_u32(a, open_mode_to_scap(how.flags, how.mode));
		push_u32(a, openat2_resolve_to_scap(how.resolve));
		break;
	}
	default: /* connect */
		evt_begin(a, PPME_SOCKET_CONNECT_E, 2, DROP_NET);
		push_s64(a, (int)arg(c, 0));
		push_user_sockaddr(a, arg(c, 1));
		break;
	}
	return 0;
}

__noinline int do_rw_exit(struct aux *a, struct sc_ctx *c)
{
	if (!a || !c)
		return 0;
	__u64 size = arg(c, 2);
	__u64 n = 0;

	if (c->ret > 0)
		n = c->ret;
	else if (c->id == NR_write)
		n = size;
	if (n > snaplen)
		n = snaplen;
	evt_begin(a, c->id == NR_read ? PPME_SYSCALL_READ_X : PPME_SYSCALL_WRITE_X, 4, DROP_FILE);
	push_s64(a, c->ret);
	if (c->id == NR_read && c->ret <= 0)
		push_empty(a);
	else
		push_user_buf(a, (void *)arg(c, 1), n, 65536 / 2);
	push_s64(a, (int)arg(c, 0));
	push_u32(a, size);
	return 0;
}

__noinline int do_pipe_exit(struct aux *a, struct sc_ctx *c)
{
	if (!a || !c)
		return 0;
	int fds[2] = { -1, -1 };
	__u32 dev, created;
	__u64 ino = 0;

	if (c->ret == 0)
		bpf_probe_read_user(fds, sizeof(fds), (void *)arg(c, 0));
	if (c->ret == 0)
		fd_dev_ino(c, fds[0], &dev, &ino, &created);
	evt_begin(a, c->id == NR_pipe ? PPME_SYSCALL_PIPE_X : PPME_SYSCALL_PIPE2_X,
		  c->id == NR_pipe ? 4 : 5, DROP_FILE);
	push_s64(a, c->ret);
	push_s64(a, fds[0]);
	push_s64(a, fds[1]);
	push_u64(a, ino);
	if (c->id == NR_pipe2)
		push_u32(a, arg(c, 1) ? open_flags_to_scap(arg(c, 1)) & ~PPM_O_RDONLY : 0);
	return 0;
}

__noinline int do_clone_exit(struct aux *a, struct sc_ctx *c)
{
	if (!a || !c)
		return 0;
	struct task_struct *t = c->task;
	const struct cred *cred;
	__u64 flags = 0;
	__u16 code;

	switch (c->id) {
	case NR_clone:
		code = PPME_SYSCALL_CLONE_20_X;
		flags = arg(c, 0);
		break;
	case NR_fork:
		code = PPME_SYSCALL_FORK_20_X;
		break;
	case NR_vfork:
		code = PPME_SYSCALL_VFORK_20_X;
		flags = 0x00004000 | 0x00000100; /* CLONE_VFORK | CLONE_VM */
		break;
	default: { /* clone3 */
		struct clone_args ca = {};

		code = PPME_SYSCALL_CLONE3_X;
		bpf_probe_read_user(&ca, sizeof(ca.flags), (void *)arg(c, 0));
		flags = ca.flags;
		break;
	}
	}
	evt_begin(a, code, 21, DROP_PROC);
	push_s64(a, c->ret);
	push_proc_common(a, (__u64)t);
	push_u32(a, clone_flags_to_scap(flags));
	cred = BPF_CORE_READ(t, cred);
	push_u32(a, BPF_CORE_READ(cred, euid.val));
	push_u32(a, BPF_CORE_READ(cred, egid.val));
	push_s64(a, task_vnr(t));
	push_s64(a, task_vnr(BPF_CORE_READ(t, group_leader)));
	push_u64(a, 0); /* pidns_init_start_ts: TODO */
	return 0;
}

__noinline int do_execve_exit(struct aux *a, struct sc_ctx *c)
{
	if (!a || !c)
		return 0;
	struct task_struct *t = c->task;
	struct file *exe = BPF_CORE_READ(t, mm, exe_file);
	struct inode *ino = BPF_CORE_READ(exe, f_inode);
	const struct cred *cred = BPF_CORE_READ(t, cred);
	struct tty_struct *tty = BPF_CORE_READ(t, signal, tty);
	bool execveat = c->id == NR_execveat;
	__u64 ctime = 0, mtime = 0, cap = 0; /* kernel_cap_t: u64, or u32[2] before 6.3 */
	__u32 tty_nr = 0;

	if (tty) {
		__u32 major = BPF_CORE_READ(tty, driver, major);
		__u32 minor = BPF_CORE_READ(tty, driver, minor_start) + BPF_CORE_READ(tty, index);

		tty_nr = encode_dev((major << 20) | minor);
	}
	if (ino && bpf_core_field_exists(struct inode___v611, i_ctime_sec)) {
		struct inode___v611 *i2 = (void *)ino;

		/* the top bits of i_ctime_nsec are flags (multigrain timestamps, 6.13+) */
		ctime = BPF_CORE_READ(i2, i_ctime_sec) * 1000000000ULL +
			(BPF_CORE_READ(i2, i_ctime_nsec) & 0x3fffffff);
		mtime = BPF_CORE_READ(i2, i_mtime_sec) * 1000000000ULL +
			(BPF_CORE_READ(i2, i_mtime_nsec) & 0x3fffffff);
	}

	evt_begin(a, execveat ? PPME_SYSCALL_EXECVEAT_X : PPME_SYSCALL_EXECVE_19_X,
		  execveat ? 30 : 31, DROP_PROC);
	push_s64(a, c->ret);
	push_proc_common(a, (__u64)t);					/* 2..15 */
	push_env(a, t);						/* env */
	push_u32(a, tty_nr);					/* tty */
	push_s64(a, pid_nr(task_pgrp(t), true));		/* vpgid */
	push_u32(a, bpf_core_field_exists(t->loginuid) ?	/* loginuid (CONFIG_AUDIT) */
			    BPF_CORE_READ(t, loginuid.val) : (__u32)-1);
	push_u32(a, 0);						/* flags: TODO */
	bpf_probe_read_kernel(&cap, 8, &cred->cap_inheritable);
	push_u64(a, cap);
	bpf_probe_read_kernel(&cap, 8, &cred->cap_permitted);
	push_u64(a, cap);
	bpf_probe_read_kernel(&cap, 8, &cred->cap_effective);
	push_u64(a, cap);
	push_u64(a, ino ? BPF_CORE_READ(ino, i_ino) : 0);	/* exe_ino */
	push_u64(a, ctime);					/* exe_ino_ctime */
	push_u64(a, mtime);					/* exe_ino_mtime */
	push_u32(a, BPF_CORE_READ(cred, euid.val));		/* uid */
	if (exe)						/* trusted_exepath */
		push_path(a, (__u64)&exe->f_path);
	else
		push_empty(a);
	push_s64(a, pid_nr(task_pgrp(t), false));		/* pgid */
	push_u32(a, BPF_CORE_READ(cred, egid.val));		/* gid */
	if (!execveat) {					/* filename */
		__u32 tid = c->tid;
		struct exec_name *en = c->ret == 0 ? bpf_map_lookup_elem(&exec_names, &tid) : NULL;

		if (en)
			push_kernel_str(a, en->s, MAX_PATH);
		else if (c->ret == 0)
			push_empty(a);
		else
			push_user_str(a, (void *)arg(c, 0));
		if (en)
			bpf_map_delete_elem(&exec_names, &tid);
	}
	return 0;
}

/* The handlers of the other syscalls, one header per family (each defines
 * the numbers of its syscalls). */
#include "sys_io.bpf.h"
#include "sys_file.bpf.h"
#include "sys_net.bpf.h"
#include "sys_proc.bpf.h"
#include "sys_mem.bpf.h"
#include "sys_wait.bpf.h"

static __always_inline void do_exit_event(struct aux *a, struct sc_ctx *c)
{
	long ret = c->ret;

	switch (c->id) {
	case NR_open:
	case NR_openat:
	case NR_openat2:
	case NR_creat:
		do_open_exit(a, c);
		break;
	case NR_close:
		evt_begin(a, PPME_SYSCALL_CLOSE_X, 2, DROP_FILE);
		push_s64(a, ret);
		push_s64(a, (int)arg(c, 0));
		break;
	case NR_read:
	case NR_write:
		do_rw_exit(a, c);
		break;
	case NR_socket: {
		__u64 type = arg(c, 1);
		__u32 fl = 0;

		if (type & K_SOCK_NONBLOCK) fl |= PPM_O_NONBLOCK;
		if (type & K_SOCK_CLOEXEC) fl |= PPM_O_CLOEXEC;
		evt_begin(a, PPME_SOCKET_SOCKET_X, 5, DROP_NET);
		push_s64(a, ret);
		push_u32(a, arg(c, 0));
		push_u32(a, type);
		push_u32(a, arg(c, 2));
		push_u32(a, fl);
		break;
	}
	case NR_connect:
		evt_begin(a, PPME_SOCKET_CONNECT_X, 4, DROP_NET);
		push_s64(a, ret);
		if (ret == 0 || ret == -115 /* EINPROGRESS */)
			push_socktuple(a, (__u64)fd_sock(c->task, (int)arg(c, 0)), 0);
		else
			push_empty(a);
		push_s64(a, (int)arg(c, 0));
		push_user_sockaddr(a, arg(c, 1));
		break;
	case NR_accept:
	case NR_accept4: {
		struct sock *lsk = fd_sock(c->task, (int)arg(c, 0));
		__u32 qlen = lsk ? BPF_CORE_READ(lsk, sk_ack_backlog) : 0;
		__u32 qmax = lsk ? BPF_CORE_READ(lsk, sk_max_ack_backlog) : 0;

		evt_begin(a, c->id == NR_accept ? PPME_SOCKET_ACCEPT_5_X : PPME_SOCKET_ACCEPT4_6_X,
			  c->id == NR_accept ? 5 : 6, DROP_NET);
		push_s64(a, ret);
		if (ret >= 0)
			push_socktuple(a, (__u64)fd_sock(c->task, ret), 1);
		else
			push_empty(a);
		push_u8(a, qmax ? qlen * 100 / qmax : 0);
		push_u32(a, qlen);
		push_u32(a, qmax);
		if (c->id == NR_accept4)
			push_u32(a, arg(c, 3));
		break;
	}
	case NR_bind:
		evt_begin(a, PPME_SOCKET_BIND_X, 3, DROP_NET);
		push_s64(a, ret);
		push_user_sockaddr(a, arg(c, 1));
		push_s64(a, (int)arg(c, 0));
		break;
	case NR_listen:
		evt_begin(a, PPME_SOCKET_LISTEN_X, 3, DROP_NET);
		push_s64(a, ret);
		push_s64(a, (int)arg(c, 0));
		push_u32(a, arg(c, 1));
		break;
	case NR_pipe:
	case NR_pipe2:
		do_pipe_exit(a, c);
		break;
	case NR_dup:
		evt_begin(a, PPME_SYSCALL_DUP_1_X, 2, DROP_FILE);
		push_s64(a, ret);
		push_s64(a, (int)arg(c, 0));
		break;
	case NR_dup2:
	case NR_dup3:
		evt_begin(a, c->id == NR_dup2 ? PPME_SYSCALL_DUP2_X : PPME_SYSCALL_DUP3_X,
			  c->id == NR_dup2 ? 3 : 4, DROP_FILE);
		push_s64(a, ret);
		push_s64(a, (int)arg(c, 0));
		push_s64(a, (int)arg(c, 1));
		if (c->id == NR_dup3)
			push_u32(a, arg(c, 2) & K_O_CLOEXEC ? PPM_O_CLOEXEC : 0);
		break;
	case NR_rename:
		evt_begin(a, PPME_SYSCALL_RENAME_X, 3, DROP_FILE);
		push_s64(a, ret);
		push_user_str(a, (void *)arg(c, 0));
		push_user_str(a, (void *)arg(c, 1));
		break;
	case NR_renameat:
	case NR_renameat2:
		evt_begin(a, c->id == NR_renameat ? PPME_SYSCALL_RENAMEAT_X : PPME_SYSCALL_RENAMEAT2_X,
			  c->id == NR_renameat ? 5 : 6, DROP_FILE);
		push_s64(a, ret);
		push_s64(a, (int)arg(c, 0));
		push_user_str(a, (void *)arg(c, 1));
		push_s64(a, (int)arg(c, 2));
		push_user_str(a, (void *)arg(c, 3));
		if (c->id == NR_renameat2)
			push_u32(a, arg(c, 4) & 7); /* RENAME_* equal PPM_RENAME_* */
		break;
	case NR_unlink:
		evt_begin(a, PPME_SYSCALL_UNLINK_2_X, 2, DROP_FILE);
		push_s64(a, ret);
		push_user_str(a, (void *)arg(c, 0));
		break;
	case NR_unlinkat:
		evt_begin(a, PPME_SYSCALL_UNLINKAT_2_X, 4, DROP_FILE);
		push_s64(a, ret);
		push_s64(a, (int)arg(c, 0));
		push_user_str(a, (void *)arg(c, 1));
		push_u32(a, arg(c, 2) & 0x200); /* AT_REMOVEDIR equals PPM_AT_REMOVEDIR */
		break;
	case NR_execve:
	case NR_execveat:
		do_execve_exit(a, c);
		break;
	case NR_clone:
	case NR_fork:
	case NR_vfork:
	case NR_clone3:
		do_clone_exit(a, c);
		break;
	case NR_pread64:
	case NR_pwrite64:
		do_prw_exit(a, c);
		break;
	case NR_readv:
	case NR_writev:
	case NR_preadv:
	case NR_pwritev:
		do_rwv_exit(a, c);
		break;
	case NR_sendfile:
	case NR_splice:
		do_fdcopy_exit(a, c);
		break;
	case NR_mkdir:
	case NR_mkdirat:
	case NR_rmdir:
	case NR_chdir:
	case NR_fchdir:
	case NR_chroot:
		do_dir_exit(a, c);
		break;
	case NR_link:
	case NR_linkat:
	case NR_symlink:
	case NR_symlinkat:
		do_link_exit(a, c);
		break;
	case NR_chmod:
	case NR_fchmod:
	case NR_fchmodat:
	case NR_chown:
	case NR_lchown:
	case NR_fchown:
	case NR_fchownat:
		do_attr_exit(a, c);
		break;
	case NR_mount:
	case NR_umount2:
		do_mount_exit(a, c);
		break;
	case NR_fcntl:
	case NR_getdents:
	case NR_getdents64:
	case NR_close_range:
		do_fdop_exit(a, c);
		break;
	case NR_eventfd:
	case NR_eventfd2:
	case NR_signalfd:
	case NR_signalfd4:
	case NR_timerfd_create:
	case NR_inotify_init:
	case NR_inotify_init1:
	case NR_memfd_create:
	case NR_epoll_create:
	case NR_epoll_create1:
	case NR_userfaultfd:
	case NR_pidfd_open:
		do_fdnew_exit(a, c);
		break;
	case NR_sendto:
	case NR_recvfrom:
		do_sendrecv_exit(a, c);
		break;
	case NR_sendmsg:
	case NR_recvmsg:
	case NR_sendmmsg:
	case NR_recvmmsg:
		do_msg_exit(a, c);
		break;
	case NR_getsockopt:
	case NR_setsockopt:
		do_sockopt_exit(a, c);
		break;
	case NR_shutdown:
	case NR_socketpair:
		do_sock_exit(a, c);
		break;
	case NR_kill:
	case NR_tkill:
	case NR_tgkill:
		do_kill_exit(a, c);
		break;
	case NR_setuid:
	case NR_setgid:
	case NR_setreuid:
	case NR_setregid:
	case NR_setresuid:
	case NR_setresgid:
	case NR_setsid:
	case NR_setpgid:
		do_ids_exit(a, c);
		break;
	case NR_setns:
	case NR_unshare:
		do_ns_exit(a, c);
		break;
	case NR_prctl:
		do_prctl_exit(a, c);
		break;
	case NR_ptrace:
		do_ptrace_exit(a, c);
		break;
	case NR_mmap:
	case NR_munmap:
	case NR_brk:
	case NR_mprotect:
		do_mem_exit(a, c);
		break;
	case NR_poll:
	case NR_ppoll:
	case NR_select:
	case NR_epoll_wait:
	case NR_futex:
	case NR_nanosleep:
		do_wait_exit(a, c);
		break;
	default: {
		__u32 key = c->id;
		struct syscall_conf *sc = bpf_map_lookup_elem(&syscalls, &key);

		emit_generic(a, c->ts, c->tid, c->latency, sc ? sc->ppm_sc : 0, c->id);
		return;
	}
	}
	evt_submit(a, c->ts, c->tid, c->latency);
}

/* Whether events of the current task are wanted at all. */
static __always_inline bool task_wanted(__u32 tgid)
{
	if (tgid == self_tgid)
		return false;
	if (filter_tgids && !bpf_map_lookup_elem(&tgids, &tgid))
		return false;
	if (filter_comms) {
		struct comm_key k = {};
		bpf_get_current_comm(&k.s, sizeof(k.s));
		if (bpf_map_lookup_elem(&comms, &k))
			return false;
	}
	return true;
}

/* 32-bit processes use the ia32 syscall table, which this probe does not
 * decode: their syscalls are skipped (code segment __USER32_CS). */
static __always_inline bool is_compat(struct pt_regs *regs)
{
	return regs->cs == 0x23;
}

/* The configuration of syscall `id` when it is traced, else NULL. */
static __always_inline struct syscall_conf *syscall_conf(long id)
{
	__u32 key = id;
	struct syscall_conf *sc;

	if (id < 0 || id >= MAX_SYSCALLS)
		return NULL;
	sc = bpf_map_lookup_elem(&syscalls, &key);
	return sc && sc->trace ? sc : NULL;
}

static __always_inline bool has_enter_event(long id)
{
	return id == NR_open || id == NR_openat || id == NR_openat2 || id == NR_creat ||
	       id == NR_connect;
}

/* Both syscall programs test the (inlined) syscall set first: a syscall
 * nobody asked for costs one array load, and sys_enter returns there too for
 * syscalls it has no work for (SC_ENTER, chosen by user space). */
SEC("tp_btf/sys_enter")
int BPF_PROG(sys_enter, struct pt_regs *regs, long id)
{
	struct syscall_conf *sc = syscall_conf(id);
	struct task_struct *task;
	__u64 ts;
	__u32 tid;

	if (!sc || !(sc->trace & SC_ENTER))
		return 0;
	task = bpf_get_current_task_btf();
	if (!task_wanted(task->tgid) || is_compat(regs))
		return 0;
	tid = task->pid;
	ts = bpf_ktime_get_ns();
	if (want_latency) {
		__u64 *slot = enter_slot(task, tid, BPF_LOCAL_STORAGE_GET_F_CREATE);

		if (slot)
			*slot = ts;
	}
	if (id == NR_execveat) {
		__u8 one = 1;

		bpf_map_update_elem(&in_execveat, &tid, &one, BPF_ANY);
	}
	if (has_enter_event(id)) {
		struct sc_ctx c = { .id = id, .ts = ts, .tid = tid, .task = task };
		struct aux *a = aux_get();

		if (!a)
			return 0;
		load_args(&c, regs);
		do_open_enter(a, &c);
		evt_submit(a, ts, tid, 0);
	}
	return 0;
}

SEC("tp_btf/sys_exit")
int BPF_PROG(sys_exit, struct pt_regs *regs, long ret)
{
	long id = regs->orig_ax;
	struct syscall_conf *sc = syscall_conf(id);
	struct task_struct *task;
	__u64 ts, latency = 0;
	struct aux *a;
	__u32 tid;

	if (!sc)
		return 0;
	task = bpf_get_current_task_btf();
	if (!task_wanted(task->tgid) || is_compat(regs))
		return 0;
	if (!(sc->trace & SC_EXIT)) {
		count_call(task->tgid, id, ret);
		return 0;
	}
	tid = task->pid;
	ts = bpf_ktime_get_ns();
	if (want_latency) {
		__u64 *slot = enter_slot(task, tid, 0);

		if (slot && *slot && *slot <= ts) {
			latency = ts - *slot;
			*slot = 0;
		}
	}
	a = aux_get();
	if (!a)
		return 0;
	/* most syscalls: the generic event, written straight into the ring */
	if (sc->generic) {
		emit_generic(a, ts, tid, latency, sc->ppm_sc, id);
		return 0;
	}

	struct sc_ctx c = {
		.task = task, .id = id, .ret = ret, .ts = ts, .latency = latency, .tid = tid,
	};

	/* a successful execveat leaves execve's number in orig_ax */
	if (c.id == NR_execve && bpf_map_lookup_elem(&in_execveat, &c.tid)) {
		c.id = NR_execveat;
		bpf_map_delete_elem(&in_execveat, &c.tid);
	}
	load_args(&c, regs);
	do_exit_event(a, &c);
	return 0;
}

/* Children of traced processes are traced too. */
SEC("tp_btf/sched_process_fork")
int BPF_PROG(sched_process_fork, struct task_struct *parent, struct task_struct *child)
{
	__u32 ptgid = parent->tgid, ctgid = child->tgid;
	__u8 one = 1;

	if (filter_tgids && ptgid != ctgid && bpf_map_lookup_elem(&tgids, &ptgid))
		bpf_map_update_elem(&tgids, &ctgid, &one, BPF_ANY);
	return 0;
}

/* Saves the name execve ran (the user's pointer is gone at sys_exit). */
SEC("tp_btf/sched_process_exec")
int BPF_PROG(sched_process_exec, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
	__u32 tid = p->pid;
	struct aux *a;

	if (!task_wanted(p->tgid))
		return 0;
	a = aux_get();
	if (!a)
		return 0;
	/* the second half of the scratch buffer is free between events */
	bpf_probe_read_kernel_str(&a->data[AUX_HALF], MAX_PATH, BPF_CORE_READ(bprm, filename));
	bpf_map_update_elem(&exec_names, &tid, &a->data[AUX_HALF], BPF_ANY);
	return 0;
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(sched_process_exit, struct task_struct *p)
{
	__u32 tid = p->pid, tgid = p->tgid;
	int code = p->exit_code;
	struct aux *a;

	if (enter_in_array) {
		__u64 *slot = bpf_map_lookup_elem(&enter_slots, &tid);

		if (slot)
			*slot = 0;
	}
	bpf_map_delete_elem(&in_execveat, &tid);
	if (!task_wanted(tgid))
		return 0;
	a = aux_get();
	if (!a)
		return 0;
	evt_begin(a, PPME_PROCEXIT_1_E, 5, DROP_PROC);
	push_s64(a, code);
	push_s64(a, (code >> 8) & 0xff);		/* ret: WEXITSTATUS */
	push_u8(a, (code & 0x7f) != 0x7f ? code & 0x7f : 0); /* sig: WTERMSIG */
	push_u8(a, (code & 0x80) ? 1 : 0);		/* core */
	push_s64(a, 0);					/* reaper_tid: TODO */
	evt_submit(a, bpf_ktime_get_ns(), tid, 0);
	if (filter_tgids && p->pid == tgid)
		bpf_map_delete_elem(&tgids, &tgid);
	return 0;
}

#include "sched.bpf.h" /* signal deliveries, context switches, page faults */
