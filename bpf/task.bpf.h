/* SPDX-License-Identifier: Apache-2.0 */
/* What a task is: its open files, paths (walked through dentries and mounts),
 * cgroup, memory, ids, and the parameters shared by the clone and execve events.
 * Reads go through CO-RE (BPF_CORE_READ), with local flavours for fields that
 * moved between kernel versions. */
#ifndef SONDE_TASK_H
#define SONDE_TASK_H

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

/* Writes the names collected by a walk, root first, as "/a/b" ("/" for
 * none), at pos; no NUL, no length. */
__noinline int write_names(struct aux *a)
{
	__u32 n;
	int i;

	if (!a || a->pos >= AUX_HALF)
		return 0;
	n = a->nnames;
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
	return 0;
}

static __always_inline void write_path(struct aux *a)
{
	__u32 start = a->pos;

	if (a->pos >= AUX_HALF) {
		push_empty(a);
		return;
	}
	write_names(a);
	a->data[a->pos & AUX_MASK] = 0;
	a->pos++;
	set_len(a, a->pos - start);
}

static __always_inline void push_path(struct aux *a, __u64 path_ptr)
{
	walk_path(a, path_ptr);
	write_path(a);
}

/* ---- cgroups (v2 default hierarchy and v1 hierarchies) ---- */

struct kernfs_node___v615 { /* 6.15+: parent renamed */
	struct kernfs_node *__parent;
} __attribute__((preserve_access_index));

struct kernfs_node___old {
	struct kernfs_node *parent;
} __attribute__((preserve_access_index));

static __always_inline struct kernfs_node *kn_parent(struct kernfs_node *kn)
{
	if (bpf_core_field_exists(struct kernfs_node___v615, __parent))
		return BPF_CORE_READ((struct kernfs_node___v615 *)kn, __parent);
	return BPF_CORE_READ((struct kernfs_node___old *)kn, parent);
}

/* Collects the names of a cgroup's kernfs node up to (not including) the root. */
__noinline int walk_kn(struct aux *a, __u64 kn_ptr)
{
	struct kernfs_node *kn = (struct kernfs_node *)kn_ptr;
	int i;

	if (!a)
		return 0;
	a->nnames = 0;
#pragma clang loop unroll(disable)
	for (i = 0; i < MAX_DEPTH; i++) {
		struct kernfs_node *parent;
		__u32 n = a->nnames;

		if (!kn)
			break;
		parent = kn_parent(kn);
		if (!parent || n >= MAX_DEPTH)
			break;
		a->names[n & (MAX_DEPTH - 1)] = (__u64)BPF_CORE_READ(kn, name);
		a->nnames = n + 1;
		kn = parent;
	}
	return 0;
}

/* The controllers listed for the unified hierarchy, as sonde-probe's /proc
 * scan lists them (crates/probe/src/proc.rs). */
#define NCTRL 14
static const char ctrl_names[NCTRL][12] = {
	"cpuset", "cpu", "cpuacct", "io", "memory", "devices", "freezer",
	"net_cls", "perf_event", "net_prio", "hugetlb", "pids", "rdma", "misc",
};

/* v1 hierarchies: each controller's css points to a cgroup of its own
 * hierarchy (on hybrid hosts the v2 dfl_cgrp is the root for every task, so
 * container identity lives in these). Local flavours: no vmlinux.h needed. */
struct css_set___sonde {
	struct cgroup_subsys_state___sonde *subsys[16];
} __attribute__((preserve_access_index));

struct cgroup_subsys_state___sonde {
	struct cgroup___sonde *cgroup;
} __attribute__((preserve_access_index));

struct cgroup___sonde {
	struct kernfs_node *kn;
	void *root;
} __attribute__((preserve_access_index));

/* Placeholder values: CO-RE relocates each to the running kernel's id. */
enum cgroup_subsys_id___sonde {
	cpuset_cgrp_id___sonde, cpu_cgrp_id___sonde, cpuacct_cgrp_id___sonde,
	io_cgrp_id___sonde, memory_cgrp_id___sonde, devices_cgrp_id___sonde,
	freezer_cgrp_id___sonde, net_cls_cgrp_id___sonde, perf_event_cgrp_id___sonde,
	net_prio_cgrp_id___sonde, hugetlb_cgrp_id___sonde, pids_cgrp_id___sonde,
	rdma_cgrp_id___sonde, misc_cgrp_id___sonde,
};

#define CTRL_ID(name)                                                              \
	(bpf_core_enum_value_exists(enum cgroup_subsys_id___sonde, name##___sonde) \
		 ? (__s32)bpf_core_enum_value(enum cgroup_subsys_id___sonde, name##___sonde) \
		 : -1)

/* The cgroup controller `id` (-1: not in this kernel) of css_set `cs` is in,
 * or NULL. */
static __always_inline struct cgroup___sonde *ctrl_cgroup(void *cs, __s32 id)
{
	struct cgroup_subsys_state___sonde *css = NULL;

	if (id < 0 || id >= 16)
		return NULL;
	bpf_probe_read_kernel(&css, sizeof(css),
			      cs + bpf_core_field_offset(struct css_set___sonde, subsys) +
				      id * sizeof(void *));
	if (!css)
		return NULL;
	return BPF_CORE_READ(css, cgroup);
}

/* PT_BYTEBUF cgroups: "controller=path" entries, each followed by a NUL. A
 * controller mounted on a v1 hierarchy gets its own hierarchy's path; the
 * others (and all of them on a cgroup v2 host) the default hierarchy's.
 * Consecutive controllers in the same cgroup copy the path written before. */
__noinline int push_cgroups(struct aux *a, __u64 task)
{
	struct task_struct *t = (struct task_struct *)task;
	__s32 ids[16] = {
		CTRL_ID(cpuset_cgrp_id), CTRL_ID(cpu_cgrp_id), CTRL_ID(cpuacct_cgrp_id),
		CTRL_ID(io_cgrp_id), CTRL_ID(memory_cgrp_id), CTRL_ID(devices_cgrp_id),
		CTRL_ID(freezer_cgrp_id), CTRL_ID(net_cls_cgrp_id), CTRL_ID(perf_event_cgrp_id),
		CTRL_ID(net_prio_cgrp_id), CTRL_ID(hugetlb_cgrp_id), CTRL_ID(pids_cgrp_id),
		CTRL_ID(rdma_cgrp_id), CTRL_ID(misc_cgrp_id), -1, -1,
	};
	struct cgroup___sonde *dfl, *prev = NULL;
	void *cs, *dfl_root;
	__u32 start, pstart = 0, plen = 0;
	__u64 n;
	int i;

	if (!a)
		return 0;
	if (a->pos >= AUX_HALF) {
		push_empty(a);
		return 0;
	}
	cs = BPF_CORE_READ(t, cgroups);
	dfl = (struct cgroup___sonde *)BPF_CORE_READ(t, cgroups, dfl_cgrp);
	dfl_root = BPF_CORE_READ(dfl, root);
	start = a->pos;
#pragma clang loop unroll(disable)
	for (i = 0; i < NCTRL; i++) {
		struct cgroup___sonde *cg = ctrl_cgroup(cs, ids[i & 15]);
		long r;

		if (!cg || BPF_CORE_READ(cg, root) == dfl_root)
			cg = dfl;
		if (a->pos >= AUX_HALF || plen >= MAX_PATH)
			break;
		r = bpf_probe_read_kernel_str(&a->data[a->pos & AUX_MASK], 12, ctrl_names[i & 15]);
		if (r > 1)
			a->pos += r - 1;
		a->data[a->pos++ & AUX_MASK] = '=';
		if (cg == prev) {
			n = plen;
			BARRIER_VAR(n);
			n &= MAX_PATH - 1;
			bpf_probe_read_kernel(&a->data[a->pos & AUX_MASK], n, &a->data[pstart & AUX_MASK]);
			a->pos += n;
		} else {
			walk_kn(a, (__u64)BPF_CORE_READ(cg, kn));
			pstart = a->pos;
			write_names(a);
			plen = a->pos - pstart;
			prev = cg;
		}
		a->data[a->pos++ & AUX_MASK] = 0;
	}
	set_len(a, a->pos - start);
	return 0;
}

/* ---- process information ---- */

/* The number of `pid` in the initial namespace, or in its own (innermost). */
static __always_inline __s64 pid_nr(struct pid *pid, bool inner)
{
	unsigned int level = inner ? BPF_CORE_READ(pid, level) : 0;
	int nr = 0;

	if (pid)
		bpf_probe_read_kernel(&nr, sizeof(nr), &pid->numbers[level & 31].nr);
	return nr;
}

static __always_inline __s64 task_vnr(struct task_struct *t)
{
	return pid_nr(BPF_CORE_READ(t, thread_pid), true);
}

/* Process group: signal->pids[PIDTYPE_PGID]. */
static __always_inline struct pid *task_pgrp(struct task_struct *t)
{
	return BPF_CORE_READ(t, signal, pids[2]);
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

/* Resident and swapped pages: MM_FILEPAGES + MM_ANONPAGES + MM_SHMEMPAGES,
 * MM_SWAPENTS. Per-CPU counters since 6.2 (their approximate total is read),
 * atomics before. */
struct mm_struct___v62 {
	struct percpu_counter rss_stat[4];
} __attribute__((preserve_access_index));

struct mm_rss_stat___old {
	long count[4];
} __attribute__((preserve_access_index));

struct mm_struct___old {
	struct mm_rss_stat___old rss_stat;
} __attribute__((preserve_access_index));

static __always_inline void mm_rss(struct mm_struct *mm, __u64 *rss, __u64 *swap)
{
	__s64 c[4] = {};

	if (bpf_core_field_size(((struct mm_struct___v62 *)mm)->rss_stat) > 4 * sizeof(long)) {
		struct mm_struct___v62 *m = (void *)mm;

		c[0] = BPF_CORE_READ(m, rss_stat[0].count);
		c[1] = BPF_CORE_READ(m, rss_stat[1].count);
		c[2] = BPF_CORE_READ(m, rss_stat[2].count);
		c[3] = BPF_CORE_READ(m, rss_stat[3].count);
	} else {
		struct mm_struct___old *m = (void *)mm;

		c[0] = BPF_CORE_READ(m, rss_stat.count[0]);
		c[1] = BPF_CORE_READ(m, rss_stat.count[1]);
		c[2] = BPF_CORE_READ(m, rss_stat.count[2]);
		c[3] = BPF_CORE_READ(m, rss_stat.count[3]);
	}
	for (int i = 0; i < 4; i++)
		if (c[i] < 0)
			c[i] = 0;
	*rss = c[0] + c[1] + c[3];
	*swap = c[2];
}

/* Parameters 2..15 shared by the clone and execve exit events:
 * exe, args, tid, pid, ptid, cwd, fdlimit, pgft_maj, pgft_min, vm_size,
 * vm_rss, vm_swap, comm, cgroups. */
__noinline int push_proc_common(struct aux *a, __u64 task)
{
	struct task_struct *t = (struct task_struct *)task;
	if (!a)
		return 0;
	struct mm_struct *mm = BPF_CORE_READ(t, mm);
	__u64 total_vm = mm ? BPF_CORE_READ(mm, total_vm) : 0;
	__u64 rss = 0, swap = 0;

	if (mm)
		mm_rss(mm, &rss, &swap);

	push_exe_args(a, (__u64)t);
	push_s64(a, BPF_CORE_READ(t, pid));
	push_s64(a, BPF_CORE_READ(t, tgid));
	push_s64(a, BPF_CORE_READ(t, real_parent, tgid));
	push_cwd(a, t);
	push_s64(a, fdlimit(t));
	push_u64(a, BPF_CORE_READ(t, maj_flt));
	push_u64(a, BPF_CORE_READ(t, min_flt));
	push_u32(a, total_vm << 2); /* pages to KiB */
	push_u32(a, rss << 2);
	push_u32(a, swap << 2);
	push_kernel_str(a, BPF_CORE_READ(t, comm), 16);
	push_cgroups(a, (__u64)t);
	return 0;
}

#endif
