// SPDX-License-Identifier: Apache-2.0
/*
 * sonde's kernel side: syscall and process-lifecycle events in sonde's event
 * model (falcosecurity/libs event table, crates/event/data/events.tsv), sent
 * to user space through one BPF ring buffer.
 *
 * Model: one exit event per syscall carrying all its parameters; enter events
 * only for the open family, creat and connect. Syscalls without a dedicated
 * handler become PPME_GENERIC_X (ID = PPM_SC code, nativeID = syscall nr).
 *
 * Programs: tp_btf sys_enter / sys_exit, sched_process_fork / exec / exit.
 * x86_64 only for now (syscall numbers and pt_regs argument registers).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include "events_gen.h" /* PPME_* codes, generated from events.tsv */
#include "event.h"

/* Big handlers are global BPF functions: each is verified once, on its own. */
#define __noinline __attribute__((noinline))

/* The kernel must see a GPL-compatible license for the tracing helpers. */
char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* Set by user space before load. */
const volatile __u32 self_tgid = 0;	/* the capturing process, never traced */
const volatile __u32 snaplen = 80;	/* bytes of read/write data to capture */
const volatile __u8 filter_tgids = 0;	/* trace only tgids in `tgids` (and their children) */

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, MAX_SYSCALLS);
	__type(key, __u32);
	__type(value, struct syscall_conf);
} syscalls SEC(".maps");

/* Per-thread enter timestamp of the syscall in progress. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, __u32);
	__type(value, __u64);
} enter_ts SEC(".maps");

/* The tgids traced when `filter_tgids` is set; children are added at fork. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, __u8);
} tgids SEC(".maps");

/* The file name a successful execve ran, saved at sched_process_exec. */
struct exec_name {
	char s[MAX_PATH];
};
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, struct exec_name);
} exec_names SEC(".maps");

/* x86_64 syscall numbers handled here. */
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

/* Kernel flag values (x86_64) translated to the PPM_* values of events.tsv. */
#define K_O_WRONLY 01
#define K_O_RDWR 02
#define K_O_CREAT 0100
#define K_O_EXCL 0200
#define K_O_TRUNC 01000
#define K_O_APPEND 02000
#define K_O_NONBLOCK 04000
#define K_O_DSYNC 010000
#define K_O_DIRECT 040000
#define K_O_LARGEFILE 0100000
#define K_O_DIRECTORY 0200000
#define K_O_CLOEXEC 02000000
#define K_O_SYNC 04010000
#define K_O_TMPFILE 020200000
#define K_FMODE_CREATED 0x100000
#define K_SOCK_NONBLOCK 04000
#define K_SOCK_CLOEXEC 02000000
#define AF_UNIX 1
#define AF_INET 2
#define AF_INET6 10

#define PPM_O_RDONLY 1
#define PPM_O_WRONLY 2
#define PPM_O_RDWR 3
#define PPM_O_CREAT 4
#define PPM_O_APPEND 8
#define PPM_O_DSYNC 16
#define PPM_O_EXCL 32
#define PPM_O_NONBLOCK 64
#define PPM_O_SYNC 128
#define PPM_O_TRUNC 256
#define PPM_O_DIRECT 512
#define PPM_O_DIRECTORY 1024
#define PPM_O_LARGEFILE 2048
#define PPM_O_CLOEXEC 4096
#define PPM_O_TMPFILE 8192
#define PPM_O_F_CREATED 16384

static __always_inline __u32 open_flags_to_scap(__u64 f)
{
	__u32 r;

	switch (f & (K_O_WRONLY | K_O_RDWR)) {
	case K_O_WRONLY: r = PPM_O_WRONLY; break;
	case K_O_RDWR: r = PPM_O_RDWR; break;
	default: r = PPM_O_RDONLY; break;
	}
	if (f & K_O_CREAT) r |= PPM_O_CREAT;
	if (f & K_O_TMPFILE) r |= PPM_O_TMPFILE; /* as the libs driver: any bit */
	if (f & K_O_APPEND) r |= PPM_O_APPEND;
	if (f & K_O_DSYNC) r |= PPM_O_DSYNC;
	if (f & K_O_EXCL) r |= PPM_O_EXCL;
	if (f & K_O_NONBLOCK) r |= PPM_O_NONBLOCK;
	if (f & K_O_SYNC) r |= PPM_O_SYNC;
	if (f & K_O_TRUNC) r |= PPM_O_TRUNC;
	if (f & K_O_DIRECT) r |= PPM_O_DIRECT;
	if (f & K_O_DIRECTORY) r |= PPM_O_DIRECTORY;
	if (f & K_O_LARGEFILE) r |= PPM_O_LARGEFILE;
	if (f & K_O_CLOEXEC) r |= PPM_O_CLOEXEC;
	return r;
}

/* PPM_S_* mode bits equal the kernel's; only meaningful with O_CREAT/O_TMPFILE. */
static __always_inline __u32 open_mode_to_scap(__u64 flags, __u64 mode)
{
	if (!(flags & (K_O_CREAT | K_O_TMPFILE)))
		return 0;
	return mode & 07777;
}

static __always_inline __u32 clone_flags_to_scap(__u64 f)
{
	__u32 r = 0;

	if (f & 0x00000400) r |= 1;	    /* CLONE_FILES */
	if (f & 0x00000200) r |= 2;	    /* CLONE_FS */
	if (f & 0x80000000) r |= 4;	    /* CLONE_IO */
	if (f & 0x08000000) r |= 8;	    /* CLONE_NEWIPC */
	if (f & 0x40000000) r |= 16;	    /* CLONE_NEWNET */
	if (f & 0x00020000) r |= 32;	    /* CLONE_NEWNS */
	if (f & 0x20000000) r |= 64;	    /* CLONE_NEWPID */
	if (f & 0x04000000) r |= 128;	    /* CLONE_NEWUTS */
	if (f & 0x00100000) r |= 512;	    /* CLONE_PARENT_SETTID */
	if (f & 0x00008000) r |= 256;	    /* CLONE_PARENT */
	if (f & 0x00002000) r |= 1024;	    /* CLONE_PTRACE */
	if (f & 0x00000800) r |= 2048;	    /* CLONE_SIGHAND */
	if (f & 0x00040000) r |= 4096;	    /* CLONE_SYSVSEM */
	if (f & 0x00010000) r |= 8192;	    /* CLONE_THREAD */
	if (f & 0x00800000) r |= 16384;	    /* CLONE_UNTRACED */
	if (f & 0x00000100) r |= 32768;	    /* CLONE_VM */
	if (f & 0x10000000) r |= 1048576;   /* CLONE_NEWUSER */
	if (f & 0x00200000) r |= 8388608;   /* CLONE_CHILD_CLEARTID */
	if (f & 0x01000000) r |= 16777216;  /* CLONE_CHILD_SETTID */
	if (f & 0x00080000) r |= 33554432;  /* CLONE_SETTLS */
	if (f & 0x00004000) r |= 134217728; /* CLONE_VFORK */
	if (f & 0x02000000) r |= 268435456; /* CLONE_NEWCGROUP */
	return r;
}

/* ---- kernel structures, with CO-RE flavours for fields that moved ---- */

struct inode___v611 { /* 6.11+: split timestamps */
	time64_t i_ctime_sec;
	time64_t i_mtime_sec;
	__u32 i_ctime_nsec;
	__u32 i_mtime_nsec;
} __attribute__((preserve_access_index));


static __always_inline struct file *task_fd(struct task_struct *t, __s64 fd)
{
	struct fdtable *fdt = BPF_CORE_READ(t, files, fdt);
	struct file **fds;
	struct file *f = NULL;

	if (!fdt || fd < 0 || fd >= BPF_CORE_READ(fdt, max_fds))
		return NULL;
	fds = BPF_CORE_READ(fdt, fd);
	bpf_probe_read_kernel(&f, sizeof(f), &fds[fd & 0xfffff]);
	return f;
}

/* Encodes a kernel dev_t as user space sees it (new_encode_dev). */
static __always_inline __u32 encode_dev(__u32 dev)
{
	__u32 major = dev >> 20, minor = dev & 0xfffff;

	return (minor & 0xff) | (major << 8) | ((minor & ~0xff) << 12);
}

static __always_inline void file_dev_ino(struct file *f, __u32 *dev, __u64 *ino)
{
	struct inode *i = BPF_CORE_READ(f, f_inode);

	*dev = encode_dev(BPF_CORE_READ(i, i_sb, s_dev));
	*ino = BPF_CORE_READ(i, i_ino);
}

/* Path of a kernel `struct path *`: walk_path collects the component names
 * (leaf first, crossing mount points, at most MAX_DEPTH), write_path writes
 * them root first. Two global functions so each is verified on its own. */
#define MAX_DEPTH 32

__noinline int walk_path(struct aux *a, __u64 path_ptr)
{
	struct path *path = (struct path *)path_ptr;
	struct dentry *d;
	struct mount *m;
	__u32 n = 0;
	int i;

	if (!a)
		return 0;
	d = BPF_CORE_READ(path, dentry);
	m = container_of(BPF_CORE_READ(path, mnt), struct mount, mnt);
	/* the count lives in memory so that the verifier does not track it and
	 * states at the loop head differ only by i */
	a->nnames = 0;
#pragma clang loop unroll(disable)
	for (i = 0; i < MAX_DEPTH * 2; i++) {
		struct dentry *root = BPF_CORE_READ(m, mnt.mnt_root);
		struct dentry *parent = BPF_CORE_READ(d, d_parent);

		if (d == root) {
			struct mount *mp = BPF_CORE_READ(m, mnt_parent);

			if (mp == m)
				break;
			d = BPF_CORE_READ(m, mnt_mountpoint);
			m = mp;
			continue;
		}
		n = a->nnames;
		if (d == parent || n >= MAX_DEPTH)
			break;
		a->names[n & (MAX_DEPTH - 1)] = (__u64)BPF_CORE_READ(d, d_name.name);
		a->nnames = n + 1;
		d = parent;
	}
	return 0;
}

__noinline int write_path(struct aux *a)
{
	__u32 n, start;
	int i;

	if (!a)
		return 0;
	if (a->pos >= AUX_HALF) {
		push_empty(a);
		return 0;
	}
	n = a->nnames;
	start = a->pos;
	if (n == 0)
		a->data[a->pos++ & AUX_MASK] = '/';
#pragma clang loop unroll(disable)
	for (i = 0; i < MAX_DEPTH; i++) {
		long r;

		if (i >= n)
			break;
		a->data[a->pos++ & AUX_MASK] = '/';
		r = bpf_probe_read_kernel_str(&a->data[a->pos & AUX_MASK], MAX_NAME,
					      (void *)a->names[(n - 1 - i) & (MAX_DEPTH - 1)]);
		if (r > 1)
			a->pos += r - 1;
	}
	a->data[a->pos & AUX_MASK] = 0;
	a->pos++;
	set_len(a, a->pos - start);
	return 0;
}

static __always_inline void push_path(struct aux *a, __u64 path_ptr)
{
	walk_path(a, path_ptr);
	write_path(a);
}

/* ---- sockets ---- */

static __always_inline struct sock *fd_sock(struct task_struct *t, __s64 fd)
{
	struct file *f = task_fd(t, fd);
	struct socket *s;

	if (!f)
		return NULL;
	s = BPF_CORE_READ(f, private_data);
	return s ? BPF_CORE_READ(s, sk) : NULL;
}

/* PT_SOCKTUPLE: family, then source and destination (inbound: peer first). */
__noinline int push_socktuple(struct aux *a, __u64 sk_ptr, int inbound)
{
	struct sock *sk = (struct sock *)sk_ptr;
	if (!a)
		return 0;
	__u16 fam;
	__u32 p = a->pos & AUX_MASK;
	__u16 lport, rport;

	if (!sk || a->pos >= AUX_HALF) {
		push_empty(a);
		return 0;
	}
	fam = BPF_CORE_READ(sk, __sk_common.skc_family);
	lport = BPF_CORE_READ(sk, __sk_common.skc_num);
	rport = bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));
	if (fam == AF_INET) {
		__u32 l = BPF_CORE_READ(sk, __sk_common.skc_rcv_saddr);
		__u32 r = BPF_CORE_READ(sk, __sk_common.skc_daddr);

		a->data[p] = AF_INET;
		__builtin_memcpy(&a->data[p + 1], inbound ? &r : &l, 4);
		__builtin_memcpy(&a->data[p + 5], inbound ? &rport : &lport, 2);
		__builtin_memcpy(&a->data[p + 7], inbound ? &l : &r, 4);
		__builtin_memcpy(&a->data[p + 11], inbound ? &lport : &rport, 2);
		push_written(a, 13);
	} else if (fam == AF_INET6) {
		struct in6_addr l = BPF_CORE_READ(sk, __sk_common.skc_v6_rcv_saddr);
		struct in6_addr r = BPF_CORE_READ(sk, __sk_common.skc_v6_daddr);

		a->data[p] = AF_INET6;
		__builtin_memcpy(&a->data[p + 1], inbound ? &r : &l, 16);
		__builtin_memcpy(&a->data[p + 17], inbound ? &rport : &lport, 2);
		__builtin_memcpy(&a->data[p + 19], inbound ? &l : &r, 16);
		__builtin_memcpy(&a->data[p + 35], inbound ? &lport : &rport, 2);
		push_written(a, 37);
	} else if (fam == AF_UNIX) {
		struct unix_sock *us = (struct unix_sock *)sk;
		__u64 src = (__u64)sk, dst = (__u64)BPF_CORE_READ(us, peer);
		struct unix_address *ua = BPF_CORE_READ(us, addr);
		long n = 0;

		a->data[p] = AF_UNIX;
		__builtin_memcpy(&a->data[p + 1], &src, 8);
		__builtin_memcpy(&a->data[p + 9], &dst, 8);
		if (ua)
			n = bpf_probe_read_kernel_str(&a->data[p + 17], 108, &ua->name[0].sun_path);
		if (n <= 0) {
			a->data[p + 17] = 0;
			n = 1;
		}
		push_written(a, 17 + n);
	} else {
		push_empty(a);
	}
	return 0;
}

/* PT_SOCKADDR from a user `struct sockaddr *`: family, then address and port. */
__noinline int push_user_sockaddr(struct aux *a, __u64 uaddr_ptr)
{
	const void *uaddr = (const void *)uaddr_ptr;
	if (!a)
		return 0;
	__u32 p = a->pos & AUX_MASK;
	__u16 fam = 0;

	if (!uaddr || a->pos >= AUX_HALF || bpf_probe_read_user(&fam, 2, uaddr)) {
		push_empty(a);
		return 0;
	}
	if (fam == AF_INET) {
		struct sockaddr_in sin = {};

		bpf_probe_read_user(&sin, sizeof(sin), uaddr);
		__u16 port = bpf_ntohs(sin.sin_port);
		a->data[p] = AF_INET;
		__builtin_memcpy(&a->data[p + 1], &sin.sin_addr.s_addr, 4);
		__builtin_memcpy(&a->data[p + 5], &port, 2);
		push_written(a, 7);
	} else if (fam == AF_INET6) {
		struct sockaddr_in6 sin6 = {};

		bpf_probe_read_user(&sin6, sizeof(sin6), uaddr);
		__u16 port = bpf_ntohs(sin6.sin6_port);
		a->data[p] = AF_INET6;
		__builtin_memcpy(&a->data[p + 1], &sin6.sin6_addr, 16);
		__builtin_memcpy(&a->data[p + 17], &port, 2);
		push_written(a, 19);
	} else if (fam == AF_UNIX) {
		long n;

		a->data[p] = AF_UNIX;
		n = bpf_probe_read_user_str(&a->data[p + 1], 108, (const char *)uaddr + 2);
		if (n <= 0) {
			a->data[p + 1] = 0;
			n = 1;
		}
		push_written(a, 1 + n);
	} else {
		push_empty(a);
	}
	return 0;
}

/* ---- process information ---- */

static __always_inline __s64 task_vnr(struct task_struct *t)
{
	struct pid *pid = BPF_CORE_READ(t, thread_pid);
	unsigned int level = BPF_CORE_READ(pid, level);
	int nr = 0;

	bpf_probe_read_kernel(&nr, sizeof(nr), &pid->numbers[level & 31].nr);
	return nr;
}

/* exe (argv[0]) and args (the rest) from the task's argument area. */
__noinline int push_exe_args(struct aux *a, __u64 task)
{
	struct task_struct *t = (struct task_struct *)task;
	if (!a)
		return 0;
	struct mm_struct *mm = BPF_CORE_READ(t, mm);
	__u64 start = BPF_CORE_READ(mm, arg_start), end = BPF_CORE_READ(mm, arg_end);
	long first;

	if (!mm || end <= start || a->pos >= AUX_HALF) {
		push_empty(a);
		push_empty(a);
		return 0;
	}
	/* exe: argv[0]; args: the NUL-terminated strings after it */
	first = bpf_probe_read_user_str(&a->data[a->pos & AUX_MASK], MAX_ARGS, (void *)start);
	if (first <= 0) {
		push_empty(a);
		push_empty(a);
		return 0;
	}
	push_written(a, first);
	push_user_buf(a, (void *)(start + first), end - start - first, MAX_ARGS);
	return 0;
}

static __always_inline void push_env(struct aux *a, struct task_struct *t)
{
	struct mm_struct *mm = BPF_CORE_READ(t, mm);
	__u64 start = BPF_CORE_READ(mm, env_start), end = BPF_CORE_READ(mm, env_end);

	push_user_buf(a, (void *)start, end > start ? end - start : 0, MAX_ARGS);
}

static __always_inline void push_cwd(struct aux *a, struct task_struct *t)
{
	struct fs_struct *fs = BPF_CORE_READ(t, fs);

	if (!fs) {
		push_empty(a);
		return;
	}
	push_path(a, (__u64)&fs->pwd);
}

static __always_inline __u64 fdlimit(struct task_struct *t)
{
	return BPF_CORE_READ(t, signal, rlim[7].rlim_cur); /* RLIMIT_NOFILE */
}

/* Parameters 2..14 shared by the clone and execve exit events:
 * exe, args, tid, pid, ptid, cwd, fdlimit, pgft_maj, pgft_min, vm_size,
 * vm_rss, vm_swap, comm. */
__noinline int push_proc_common(struct aux *a, __u64 task)
{
	struct task_struct *t = (struct task_struct *)task;
	if (!a)
		return 0;
	struct mm_struct *mm = BPF_CORE_READ(t, mm);
	__u64 total_vm = mm ? BPF_CORE_READ(mm, total_vm) : 0;

	push_exe_args(a, (__u64)t);
	push_s64(a, BPF_CORE_READ(t, pid));
	push_s64(a, BPF_CORE_READ(t, tgid));
	push_s64(a, BPF_CORE_READ(t, real_parent, tgid));
	push_cwd(a, t);
	push_s64(a, fdlimit(t));
	push_u64(a, BPF_CORE_READ(t, maj_flt));
	push_u64(a, BPF_CORE_READ(t, min_flt));
	push_u32(a, total_vm << 2); /* pages to KiB */
	push_u32(a, 0);		    /* vm_rss: TODO */
	push_u32(a, 0);		    /* vm_swap: TODO */
	push_kernel_str(a, BPF_CORE_READ(t, comm), 16);
	push_empty(a); /* cgroups: TODO */
	return 0;
}

/* ---- syscall handlers: each builds one complete event ---- */

struct sc_ctx {
	struct pt_regs *regs;
	struct task_struct *task;
	long id;
	long ret;
	__u64 ts;
	__u64 latency;
	__u32 tid;
};

static __always_inline __u64 arg(struct sc_ctx *c, int n)
{
	struct pt_regs *r = c->regs;

	switch (n) {
	case 0: return BPF_CORE_READ(r, di);
	case 1: return BPF_CORE_READ(r, si);
	case 2: return BPF_CORE_READ(r, dx);
	case 3: return BPF_CORE_READ(r, r10);
	default: return BPF_CORE_READ(r, r8); /* no handler needs the sixth (r9) */
	}
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
			push_u32(a, resolve & 0x3f); /* RESOLVE_* equal PPM_RESOLVE_* */
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
		push_u32(a, how.resolve & 0x3f);
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

		ctime = BPF_CORE_READ(i2, i_ctime_sec) * 1000000000ULL + BPF_CORE_READ(i2, i_ctime_nsec);
		mtime = BPF_CORE_READ(i2, i_mtime_sec) * 1000000000ULL + BPF_CORE_READ(i2, i_mtime_nsec);
	}

	evt_begin(a, execveat ? PPME_SYSCALL_EXECVEAT_X : PPME_SYSCALL_EXECVE_19_X,
		  execveat ? 30 : 31, DROP_PROC);
	push_s64(a, c->ret);
	push_proc_common(a, (__u64)t);					/* 2..15 */
	push_env(a, t);						/* env */
	push_u32(a, tty_nr);					/* tty */
	push_s64(a, BPF_CORE_READ(t, group_leader, pid));	/* vpgid: TODO pgid */
	push_u32(a, BPF_CORE_READ(t, loginuid.val));		/* loginuid */
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
	push_s64(a, BPF_CORE_READ(t, group_leader, pid));	/* pgid: TODO */
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
	default: {
		__u32 key = c->id;
		struct syscall_conf *sc = bpf_map_lookup_elem(&syscalls, &key);

		evt_begin(a, PPME_GENERIC_X, 2, DROP_GENERIC);
		push_u16(a, sc ? sc->ppm_sc : 0);
		push_u16(a, c->id);
		break;
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
	return true;
}

static __always_inline bool syscall_wanted(long id)
{
	__u32 key = id;
	struct syscall_conf *sc;

	if (id < 0 || id >= MAX_SYSCALLS)
		return false;
	sc = bpf_map_lookup_elem(&syscalls, &key);
	return sc && sc->interesting;
}

static __always_inline bool has_enter_event(long id)
{
	return id == NR_open || id == NR_openat || id == NR_openat2 || id == NR_creat ||
	       id == NR_connect;
}

SEC("tp_btf/sys_enter")
int BPF_PROG(sys_enter, struct pt_regs *regs, long id)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u32 tid = pid_tgid, tgid = pid_tgid >> 32;
	__u64 ts;

	if (!task_wanted(tgid) || !syscall_wanted(id))
		return 0;
	ts = bpf_ktime_get_boot_ns();
	bpf_map_update_elem(&enter_ts, &tid, &ts, BPF_ANY);
	if (has_enter_event(id)) {
		struct sc_ctx c = { .regs = regs, .id = id, .ts = ts, .tid = tid };
		struct aux *a = aux_get();

		if (!a)
			return 0;
		c.task = bpf_get_current_task_btf();
		do_open_enter(a, &c);
		evt_submit(a, ts, tid, 0);
	}
	return 0;
}

SEC("tp_btf/sys_exit")
int BPF_PROG(sys_exit, struct pt_regs *regs, long ret)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u32 tid = pid_tgid, tgid = pid_tgid >> 32;
	struct sc_ctx c = { .regs = regs, .ret = ret, .tid = tid };
	struct aux *a;
	__u64 *ets;

	c.id = BPF_CORE_READ(regs, orig_ax);
	if (!task_wanted(tgid) || !syscall_wanted(c.id))
		return 0;
	c.ts = bpf_ktime_get_boot_ns();
	ets = bpf_map_lookup_elem(&enter_ts, &tid);
	if (ets) {
		c.latency = c.ts - *ets;
		bpf_map_delete_elem(&enter_ts, &tid);
	}
	a = aux_get();
	if (!a)
		return 0;
	c.task = bpf_get_current_task_btf();
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

	bpf_map_delete_elem(&enter_ts, &tid);
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
	evt_submit(a, bpf_ktime_get_boot_ns(), tid, 0);
	if (filter_tgids && p->pid == tgid)
		bpf_map_delete_elem(&tgids, &tgid);
	return 0;
}
