/* SPDX-License-Identifier: Apache-2.0 */
/* Waiting: poll, ppoll, select, epoll_wait, futex, nanosleep. */
#ifndef SONDE_SYS_WAIT_H
#define SONDE_SYS_WAIT_H

#define NR_poll 7
#define NR_select 23
#define NR_nanosleep 35
#define NR_futex 202
#define NR_epoll_wait 232
#define NR_ppoll 271

#define MAX_POLLFD 16 /* pollfd entries sent, as libs */

/* POLL* (x86_64) to PPM_POLL* */
static __always_inline __u16 poll_events_to_scap(__u16 e)
{
	__u16 r = e & 7; /* IN, PRI, OUT */

	if (e & 0x2000) r |= 8;	   /* POLLRDHUP */
	if (e & 0x8) r |= 16;	   /* POLLERR */
	if (e & 0x10) r |= 32;	   /* POLLHUP */
	if (e & 0x20) r |= 64;	   /* POLLNVAL */
	if (e & 0x40) r |= 128;	   /* POLLRDNORM */
	if (e & 0x80) r |= 256;	   /* POLLRDBAND */
	if (e & 0x100) r |= 512;   /* POLLWRNORM */
	if (e & 0x200) r |= 1024;  /* POLLWRBAND */
	return r;
}

/* PT_FDLIST: a u16 count, then each pollfd's fd (s64) and returned events
 * (s16, PPM_POLL*), at most MAX_POLLFD of them. */
__noinline int push_fdlist(struct aux *a, __u64 fds_ptr, __u64 nfds)
{
	struct {
		__s32 fd;
		__s16 events;
		__s16 revents;
	} pfd;
	__u32 start;
	__u16 n = 0;
	int j;

	if (!a)
		return 0;
	if (a->pos >= AUX_HALF) {
		push_empty(a);
		return 0;
	}
	start = a->pos;
	a->pos += 2;
#pragma clang loop unroll(disable)
	for (j = 0; j < MAX_POLLFD; j++) {
		__s64 fd;
		__s16 ev;

		if (j >= nfds || bpf_probe_read_user(&pfd, sizeof(pfd), (void *)(fds_ptr + j * 8)))
			break;
		fd = pfd.fd;
		ev = poll_events_to_scap(pfd.revents);
		__builtin_memcpy(&a->data[a->pos & AUX_MASK], &fd, 8);
		__builtin_memcpy(&a->data[(a->pos + 8) & AUX_MASK], &ev, 2);
		a->pos += 10;
		n++;
	}
	__builtin_memcpy(&a->data[start & AUX_MASK], &n, 2);
	set_len(a, a->pos - start);
	return 0;
}

/* A struct timespec in user memory, in ns (0 if unreadable). */
static __always_inline __u64 user_timespec_ns(__u64 ptr)
{
	struct {
		__s64 sec;
		__s64 nsec;
	} ts = {};

	if (!ptr || bpf_probe_read_user(&ts, sizeof(ts), (void *)ptr))
		return 0;
	return ts.sec * 1000000000ULL + ts.nsec;
}

/* futex operations to PPM_FU_*: the command (FUTEX_WAIT .. CMP_REQUEUE_PI
 * keep their values, others are 0), FUTEX_PRIVATE_FLAG, FUTEX_CLOCK_REALTIME */
static __always_inline __u16 futex_op_to_scap(__u64 op)
{
	__u16 cmd = op & 127;

	return (cmd <= 12 ? cmd : 0) | (op & 128) | (op & 256);
}

/* poll, ppoll, select, epoll_wait, futex, nanosleep */
__noinline int do_wait_exit(struct aux *a, struct sc_ctx *c)
{
	if (!a || !c)
		return 0;
	__u32 sigmask = 0;

	switch (c->id) {
	case NR_poll:
		evt_begin(a, PPME_SYSCALL_POLL_X, 3, DROP_GENERIC);
		push_s64(a, c->ret);
		push_fdlist(a, arg(c, 0), (__u32)arg(c, 1));
		push_s64(a, (int)arg(c, 2)); /* timeout (ms) */
		break;
	case NR_ppoll:
		evt_begin(a, PPME_SYSCALL_PPOLL_X, 4, DROP_GENERIC);
		push_s64(a, c->ret);
		push_fdlist(a, arg(c, 0), (__u32)arg(c, 1));
		push_u64(a, user_timespec_ns(arg(c, 2)));
		if (arg(c, 3))
			bpf_probe_read_user(&sigmask, sizeof(sigmask), (void *)arg(c, 3));
		push_u32(a, sigmask);
		break;
	case NR_select:
		evt_begin(a, PPME_SYSCALL_SELECT_X, 1, DROP_GENERIC);
		push_s64(a, c->ret);
		break;
	case NR_epoll_wait:
		evt_begin(a, PPME_SYSCALL_EPOLLWAIT_X, 2, DROP_GENERIC);
		push_s64(a, c->ret);
		push_s64(a, (int)arg(c, 2)); /* maxevents */
		break;
	case NR_futex:
		evt_begin(a, PPME_SYSCALL_FUTEX_X, 4, DROP_GENERIC);
		push_s64(a, c->ret);
		push_u64(a, arg(c, 0)); /* addr */
		push_u16(a, futex_op_to_scap(arg(c, 1)));
		push_u64(a, arg(c, 2)); /* val */
		break;
	default: /* nanosleep */
		evt_begin(a, PPME_SYSCALL_NANOSLEEP_X, 2, DROP_GENERIC);
		push_s64(a, c->ret);
		push_u64(a, user_timespec_ns(arg(c, 0))); /* the interval asked for */
		break;
	}
	return 0;
}

#endif
