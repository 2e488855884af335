/* SPDX-License-Identifier: Apache-2.0 */
/* Sockets beyond socket/connect/accept/bind/listen: sending and receiving
 * (sendto, recvfrom, sendmsg, recvmsg, sendmmsg, recvmmsg), shutdown,
 * socketpair, getsockopt and setsockopt. Data parameters carry at most
 * `snaplen` bytes; tuples come from the socket (push_socktuple_addr). */
#ifndef SONDE_SYS_NET_H
#define SONDE_SYS_NET_H

#define NR_sendto 44
#define NR_recvfrom 45
#define NR_sendmsg 46
#define NR_recvmsg 47
#define NR_shutdown 48
#define NR_socketpair 53
#define NR_setsockopt 54
#define NR_getsockopt 55
#define NR_recvmmsg 299
#define NR_sendmmsg 307

#define SOL_SOCKET 1
#define SOL_TCP 6
#define MAX_MSGCONTROL MAX_PATH /* control data kept (libs: up to 64 KiB) */

/* struct user_msghdr and struct mmsghdr of x86_64 user space */
struct umsghdr {
	__u64 name;
	__s32 namelen;
	__u32 pad;
	__u64 iov;
	__u64 iovlen;
	__u64 control;
	__u64 controllen;
	__u32 flags;
	__u32 pad2;
};

struct ummsghdr {
	struct umsghdr hdr;
	__u32 len;
	__u32 pad;
};

/* sendto, recvfrom */
__noinline int do_sendrecv_exit(struct aux *a, struct sc_ctx *c)
{
	if (!a || !c)
		return 0;
	__s64 fd = (int)arg(c, 0);
	__u32 size = arg(c, 2);
	__u64 sk = (__u64)fd_sock(c->task, fd);

	if (c->id == NR_sendto) {
		evt_begin(a, PPME_SOCKET_SENDTO_X, 5, DROP_NET);
		push_s64(a, c->ret);
		push_user_buf(a, (void *)arg(c, 1), data_len(c->ret, size, false), AUX_HALF / 2);
		push_s64(a, fd);
		push_u32(a, size);
		if (c->ret >= 0)
			push_socktuple_addr(a, sk, 0, arg(c, 4)); /* dest_addr */
		else
			push_empty(a);
	} else {
		evt_begin(a, PPME_SOCKET_RECVFROM_X, 5, DROP_NET);
		push_s64(a, c->ret);
		if (c->ret >= 0) {
			push_user_buf(a, (void *)arg(c, 1), data_len(c->ret, 0, true), AUX_HALF / 2);
			push_socktuple_addr(a, sk, 1, arg(c, 4)); /* src_addr, as the kernel filled it */
		} else {
			push_empty(a);
			push_empty(a);
		}
		push_s64(a, fd);
		push_u32(a, size);
	}
	return 0;
}

/* PT_BYTEBUF msgcontrol: the control data a receive got. */
static __always_inline void push_msgcontrol(struct aux *a, struct umsghdr *m)
{
	if (m->control && m->controllen > 0 && m->controllen <= 0xffff)
		push_user_buf(a, (void *)m->control, m->controllen, MAX_MSGCONTROL);
	else
		push_empty(a);
}

/* sendmsg, recvmsg, sendmmsg, recvmmsg */
__noinline int do_msg_exit(struct aux *a, struct sc_ctx *c)
{
	if (!a || !c)
		return 0;
	__s64 fd = (int)arg(c, 0);
	__u64 sk = (__u64)fd_sock(c->task, fd);
	struct ummsghdr mm = {};
	struct umsghdr *m = &mm.hdr;
	long ret = c->ret;
	bool ok;

	switch (c->id) {
	case NR_sendmsg:
		evt_begin(a, PPME_SOCKET_SENDMSG_X, 5, DROP_NET);
		push_s64(a, ret);
		if (bpf_probe_read_user(m, sizeof(*m), (void *)arg(c, 1))) {
			push_empty(a);
			push_s64(a, fd);
			push_empty(a);
			push_empty(a);
			break;
		}
		push_iov_data(a, m->iov, m->iovlen, data_len(ret, snaplen, false));
		push_s64(a, fd);
		push_u32(a, iov_total(m->iov, m->iovlen));
		if (ret >= 0)
			push_socktuple_addr(a, sk, 0, m->name);
		else
			push_empty(a);
		break;
	case NR_recvmsg:
		evt_begin(a, PPME_SOCKET_RECVMSG_X, 6, DROP_NET);
		push_s64(a, ret);
		if (ret < 0) {
			push_u32(a, 0);
			push_empty(a);
			push_empty(a);
			push_empty(a);
		} else {
			push_u32(a, ret);
			ok = !bpf_probe_read_user(m, sizeof(*m), (void *)arg(c, 1));
			if (ok)
				push_iov_data(a, m->iov, m->iovlen, data_len(ret, 0, true));
			else
				push_empty(a);
			push_socktuple_addr(a, sk, 1, m->name);
			push_msgcontrol(a, m);
		}
		push_s64(a, fd);
		break;
	/* TODO: libs sends one event per message of sendmmsg/recvmmsg; here
	 * there is one event per syscall, with the first message. */
	case NR_sendmmsg:
		evt_begin(a, PPME_SOCKET_SENDMMSG_X, 5, DROP_NET);
		ok = ret > 0 && !bpf_probe_read_user(&mm, sizeof(mm), (void *)arg(c, 1));
		push_s64(a, ok ? mm.len : ret);
		push_s64(a, fd);
		if (!ok) {
			push_u32(a, 0);
			push_empty(a);
			push_empty(a);
			break;
		}
		push_u32(a, iov_total(m->iov, m->iovlen));
		push_iov_data(a, m->iov, m->iovlen, data_len(mm.len, snaplen, false));
		push_socktuple_addr(a, sk, 0, m->name);
		break;
	default: /* recvmmsg */
		evt_begin(a, PPME_SOCKET_RECVMMSG_X, 6, DROP_NET);
		ok = ret > 0 && !bpf_probe_read_user(&mm, sizeof(mm), (void *)arg(c, 1));
		push_s64(a, ok ? mm.len : ret);
		push_s64(a, fd);
		if (!ok) {
			push_u32(a, 0);
			push_empty(a);
			push_empty(a);
			push_empty(a);
			break;
		}
		push_u32(a, mm.len);
		push_iov_data(a, m->iov, m->iovlen, data_len(mm.len, 0, true));
		push_socktuple_addr(a, sk, 1, m->name);
		push_msgcontrol(a, m);
		break;
	}
	return 0;
}

/* SO_* options (x86_64) whose value libs sends as a UINT32: bit n for option n */
#define SOCKOPT_U32_MASK 0x3ffffebcddfeeULL

static __always_inline __u8 sockopt_level_to_scap(int level)
{
	if (level == SOL_SOCKET)
		return 1;
	return level == SOL_TCP ? 2 : 0;
}

static __always_inline __u8 sockopt_optname_to_scap(int level, int opt)
{
	if (level != SOL_SOCKET)
		return 0;
	if (opt >= 1 && opt <= 50) /* SO_DEBUG .. SO_ATTACH_BPF: equal values */
		return opt;
	switch (opt) {
	case 55: return 52; /* SO_MEMINFO */
	case 57: return 53; /* SO_COOKIE */
	case 59: return 51; /* SO_PEERGROUPS */
	case 66: return 20; /* SO_RCVTIMEO_NEW */
	case 67: return 21; /* SO_SNDTIMEO_NEW */
	default: return 0;
	}
}

/* PT_DYN sockopt value: a PPM_SOCKOPT_IDX_* byte, then the value in that
 * type (errno, u32, u64, timeval in ns, or the raw bytes). */
__noinline int push_sockopt(struct aux *a, __u64 level, __u64 opt, __u64 optlen, __u64 optval)
{
	const void *uval = (const void *)optval;
	__u32 p;
	__s32 v32 = 0;
	__u64 v64 = 0;

	if (!a)
		return 0;
	if (a->pos >= AUX_HALF) {
		push_empty(a);
		return 0;
	}
	p = a->pos & AUX_MASK;
	if (level != SOL_SOCKET || opt >= 64) {
		/* unknown: raw bytes, below */
	} else if (opt == 4) { /* SO_ERROR */
		bpf_probe_read_user(&v32, sizeof(v32), uval);
		v64 = -(__s64)v32;
		a->data[p] = 1; /* PPM_SOCKOPT_IDX_ERRNO */
		__builtin_memcpy(&a->data[p + 1], &v64, 8);
		push_written(a, 9);
		return 0;
	} else if (opt == 20 || opt == 21 || opt == 66 || opt == 67) { /* SO_{RCV,SND}TIMEO */
		struct {
			__s64 sec;
			__s64 usec;
		} tv = {};

		bpf_probe_read_user(&tv, sizeof(tv), uval);
		v64 = tv.sec * 1000000000ULL + tv.usec * 1000ULL;
		a->data[p] = 4; /* PPM_SOCKOPT_IDX_TIMEVAL */
		__builtin_memcpy(&a->data[p + 1], &v64, 8);
		push_written(a, 9);
		return 0;
	} else if (opt == 57) { /* SO_COOKIE */
		bpf_probe_read_user(&v64, sizeof(v64), uval);
		a->data[p] = 3; /* PPM_SOCKOPT_IDX_UINT64 */
		__builtin_memcpy(&a->data[p + 1], &v64, 8);
		push_written(a, 9);
		return 0;
	} else if ((SOCKOPT_U32_MASK >> opt) & 1) {
		bpf_probe_read_user(&v32, sizeof(v32), uval);
		a->data[p] = 2; /* PPM_SOCKOPT_IDX_UINT32 */
		__builtin_memcpy(&a->data[p + 1], &v32, 4);
		push_written(a, 5);
		return 0;
	}
	/* PPM_SOCKOPT_IDX_UNKNOWN, then the option's bytes */
	v64 = optlen < MAX_PATH ? optlen : MAX_PATH;
	BARRIER_VAR(v64);
	v64 &= MAX_PATH * 2 - 1;
	a->data[p] = 0;
	if (v64 && bpf_probe_read_user(&a->data[p + 1], v64, uval))
		v64 = 0;
	push_written(a, 1 + v64);
	return 0;
}

/* getsockopt, setsockopt */
__noinline int do_sockopt_exit(struct aux *a, struct sc_ctx *c)
{
	if (!a || !c)
		return 0;
	int level = arg(c, 1), opt = arg(c, 2);
	__u32 optlen = 0;

	if (c->id == NR_getsockopt) {
		/* the length the kernel wrote back (the value's own on success) */
		bpf_probe_read_user(&optlen, sizeof(optlen), (void *)arg(c, 4));
		evt_begin(a, PPME_SOCKET_GETSOCKOPT_X, 6, DROP_NET);
	} else {
		optlen = (__u16)arg(c, 4);
		evt_begin(a, PPME_SOCKET_SETSOCKOPT_X, 6, DROP_NET);
	}
	push_s64(a, c->ret);
	push_s64(a, (int)arg(c, 0));
	push_u8(a, sockopt_level_to_scap(level));
	push_u8(a, sockopt_optname_to_scap(level, opt));
	push_sockopt(a, level, opt, optlen, arg(c, 3));
	push_u32(a, optlen);
	return 0;
}

/* shutdown, socketpair */
__noinline int do_sock_exit(struct aux *a, struct sc_ctx *c)
{
	if (!a || !c)
		return 0;
	if (c->id == NR_shutdown) {
		__u64 how = arg(c, 1);

		evt_begin(a, PPME_SOCKET_SHUTDOWN_X, 3, DROP_NET);
		push_s64(a, c->ret);
		push_s64(a, (int)arg(c, 0));
		/* SHUT_RD/WR/RDWR equal the PPM_ values; PPM_SHUT_UNKNOWN cut to 8 bits, as libs */
		push_u8(a, how <= 2 ? how : 0xff);
	} else {
		int fds[2] = { -1, -1 };
		__u64 src = 0, peer = 0;
		__u32 domain = arg(c, 0) & 0xff;

		if (c->ret == 0 && !bpf_probe_read_user(fds, sizeof(fds), (void *)arg(c, 3))) {
			struct sock *sk = fd_sock(c->task, fds[0]);

			src = (__u64)sk;
			if (sk)
				peer = (__u64)BPF_CORE_READ((struct unix_sock *)sk, peer);
		}
		evt_begin(a, PPME_SOCKET_SOCKETPAIR_X, 8, DROP_NET);
		push_s64(a, c->ret);
		push_s64(a, fds[0]);
		push_s64(a, fds[1]);
		push_u64(a, src);
		push_u64(a, peer);
		push_u32(a, domain <= 39 ? domain : 0); /* AF_* equal PPM_AF_* up to AF_NFC */
		push_u32(a, arg(c, 1));			/* type */
		push_u32(a, arg(c, 2));			/* proto */
	}
	return 0;
}

#endif
