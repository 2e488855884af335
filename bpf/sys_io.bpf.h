/* SPDX-License-Identifier: Apache-2.0 */
/* Reads and writes beyond read/write: positional (pread64, pwrite64),
 * vectored (readv, writev, preadv, pwritev) and fd to fd (sendfile, splice).
 * Data parameters carry at most `snaplen` bytes. */
#ifndef SONDE_SYS_IO_H
#define SONDE_SYS_IO_H

#define NR_pread64 17
#define NR_pwrite64 18
#define NR_readv 19
#define NR_writev 20
#define NR_sendfile 40
#define NR_splice 275
#define NR_preadv 295
#define NR_pwritev 296

#define MAX_IOV 32 /* iovec entries looked at, as libs */

/* struct iovec of x86_64 user space */
struct uiovec {
	__u64 base;
	__u64 len;
};

/* The sixth syscall argument (r9), which sc_ctx does not carry, from the
 * current task's saved user registers. TODO: 0 before Linux 5.15 (no
 * bpf_task_pt_regs); sc_ctx could carry it instead. */
static __always_inline __u64 sixth_arg(void)
{
	struct pt_regs *regs;

	if (!bpf_core_enum_value_exists(enum bpf_func_id, BPF_FUNC_task_pt_regs))
		return 0;
	regs = (struct pt_regs *)bpf_task_pt_regs(bpf_get_current_task_btf());
	return BPF_CORE_READ(regs, r9);
}

static __always_inline __u64 min_u64(__u64 x, __u64 y)
{
	return x < y ? x : y;
}

/* Total length of the buffers of an iovec array. */
static __always_inline __u64 iov_total(__u64 iov_ptr, __u64 iovcnt)
{
	const struct uiovec *uiov = (const void *)iov_ptr;
	struct uiovec iov;
	__u64 total = 0;
	int j;

#pragma clang loop unroll(disable)
	for (j = 0; j < MAX_IOV; j++) {
		if (j >= iovcnt || bpf_probe_read_user(&iov, sizeof(iov), &uiov[j]))
			break;
		total += iov.len;
	}
	return total;
}

/* PT_BYTEBUF: the bytes of an iovec array's buffers, at most `max`. */
__noinline int push_iov_data(struct aux *a, __u64 iov_ptr, __u64 iovcnt, __u64 max)
{
	const struct uiovec *uiov = (const void *)iov_ptr;
	struct uiovec iov;
	__u32 start, total = 0;
	int j;

	if (!a)
		return 0;
	start = a->pos;
	if (start >= AUX_HALF) {
		push_empty(a);
		return 0;
	}
	if (max > AUX_HALF / 2)
		max = AUX_HALF / 2;
#pragma clang loop unroll(disable)
	for (j = 0; j < MAX_IOV; j++) {
		__u64 n;

		if (j >= iovcnt || total >= max ||
		    bpf_probe_read_user(&iov, sizeof(iov), &uiov[j]))
			break;
		n = min_u64(iov.len, max - total);
		BARRIER_VAR(n);
		n &= AUX_HALF - 1;
		if (bpf_probe_read_user(&a->data[(start + total) & AUX_MASK], n, (void *)iov.base))
			break;
		total += n;
	}
	a->pos = start + total;
	set_len(a, total);
	return 0;
}

/* Bytes of data to keep: what the call moved, else (writes) what was asked. */
static __always_inline __u64 data_len(long ret, __u64 size, bool is_read)
{
	__u64 n = 0;

	if (ret > 0)
		n = ret;
	else if (!is_read)
		n = size;
	return min_u64(n, snaplen);
}

/* pread64, pwrite64 */
__noinline int do_prw_exit(struct aux *a, struct sc_ctx *c)
{
	if (!a || !c)
		return 0;
	bool rd = c->id == NR_pread64;
	__u64 size = arg(c, 2);

	evt_begin(a, rd ? PPME_SYSCALL_PREAD_X : PPME_SYSCALL_PWRITE_X, 5, DROP_FILE);
	push_s64(a, c->ret);
	if (rd && c->ret <= 0)
		push_empty(a);
	else
		push_user_buf(a, (void *)arg(c, 1), data_len(c->ret, size, rd), AUX_HALF / 2);
	push_s64(a, (int)arg(c, 0));
	push_u32(a, size);
	push_u64(a, arg(c, 3)); /* pos */
	return 0;
}

/* readv, writev, preadv, pwritev */
__noinline int do_rwv_exit(struct aux *a, struct sc_ctx *c)
{
	if (!a || !c)
		return 0;
	bool rd = c->id == NR_readv || c->id == NR_preadv;
	bool pos = c->id == NR_preadv || c->id == NR_pwritev;
	__u64 iov = arg(c, 1), cnt = arg(c, 2);
	__u16 code;

	switch (c->id) {
	case NR_readv: code = PPME_SYSCALL_READV_X; break;
	case NR_writev: code = PPME_SYSCALL_WRITEV_X; break;
	case NR_preadv: code = PPME_SYSCALL_PREADV_X; break;
	default: code = PPME_SYSCALL_PWRITEV_X; break;
	}
	evt_begin(a, code, pos ? 5 : 4, DROP_FILE);
	push_s64(a, c->ret);
	if (rd) {
		/* size is what was read */
		push_u32(a, c->ret > 0 ? c->ret : 0);
		if (c->ret > 0)
			push_iov_data(a, iov, cnt, data_len(c->ret, 0, true));
		else
			push_empty(a);
		push_s64(a, (int)arg(c, 0));
	} else {
		/* a failed write still shows what it tried to write */
		push_iov_data(a, iov, cnt, c->ret > 0 ? min_u64(c->ret, snaplen) : snaplen);
		push_s64(a, (int)arg(c, 0));
		push_u32(a, iov_total(iov, cnt));
	}
	if (pos)
		push_u64(a, arg(c, 3));
	return 0;
}

/* sendfile, splice */
__noinline int do_fdcopy_exit(struct aux *a, struct sc_ctx *c)
{
	if (!a || !c)
		return 0;
	if (c->id == NR_sendfile) {
		__u64 off = 0;

		/* the offset after the copy (the kernel updates *offset) */
		if (arg(c, 2))
			bpf_probe_read_user(&off, sizeof(off), (void *)arg(c, 2));
		evt_begin(a, PPME_SYSCALL_SENDFILE_X, 5, DROP_FILE);
		push_s64(a, c->ret);
		push_u64(a, off);
		push_s64(a, (int)arg(c, 0)); /* out_fd */
		push_s64(a, (int)arg(c, 1)); /* in_fd */
		push_u64(a, arg(c, 3));	     /* size */
	} else {
		evt_begin(a, PPME_SYSCALL_SPLICE_X, 5, DROP_FILE);
		push_s64(a, c->ret);
		push_s64(a, (int)arg(c, 0)); /* fd_in */
		push_s64(a, (int)arg(c, 2)); /* fd_out */
		push_u64(a, arg(c, 4));	     /* size */
		/* SPLICE_F_MOVE/NONBLOCK/MORE/GIFT equal the PPM_SPLICE_F_* values */
		push_u32(a, sixth_arg() & 0xf);
	}
	return 0;
}

#endif
