/* SPDX-License-Identifier: Apache-2.0 */
/* Sockets: PT_SOCKTUPLE from a kernel socket, PT_SOCKADDR from user memory. */
#ifndef SONDE_NET_H
#define SONDE_NET_H

static __always_inline struct sock *fd_sock(struct task_struct *t, __s64 fd)
{
	struct file *f = task_fd(t, fd);
	struct socket *s;

	if (!f)
		return NULL;
	s = BPF_CORE_READ(f, private_data);
	return s ? BPF_CORE_READ(s, sk) : NULL;
}

/* A unix socket's path (its address or, for `uaddr`, a user sockaddr_un),
 * NUL-terminated, at p; an abstract name loses its leading NUL, as libs
 * writes it. Returns the bytes written. */
static __always_inline long write_unix_path(struct aux *a, __u32 p, struct unix_address *ua,
					    const char *uaddr)
{
	const char *src = uaddr ? uaddr + 2 : NULL;
	char first = 0;
	long n = 0;

	if (ua)
		src = (const char *)&ua->name[0].sun_path;
	if (src) {
		if (ua)
			bpf_probe_read_kernel(&first, 1, src);
		else
			bpf_probe_read_user(&first, 1, src);
		if (!first)
			src++;
		n = ua ? bpf_probe_read_kernel_str(&a->data[p & AUX_MASK], 108, src)
		       : bpf_probe_read_user_str(&a->data[p & AUX_MASK], 108, src);
	}
	if (n <= 0) {
		a->data[p & AUX_MASK] = 0;
		n = 1;
	}
	return n;
}

/* PT_SOCKTUPLE of a socket, as libs fills it: family, then source and
 * destination (outbound: this end first; inbound: the peer first). A socket
 * without a remote end (an unconnected datagram socket) takes it from
 * `uaddr_ptr`, the address the user passed (sendto's destination,
 * recvfrom's source), if any. Unix sockets: the two kernel socket pointers
 * (outbound: the peer's first) and the path (outbound: the peer's). */
__noinline int push_socktuple_addr(struct aux *a, __u64 sk_ptr, int inbound, __u64 uaddr_ptr)
{
	struct sock *sk = (struct sock *)sk_ptr;
	const void *uaddr = (const void *)uaddr_ptr;
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
		struct sockaddr_in sin = {};

		if (rport == 0 && uaddr && !bpf_probe_read_user(&sin, sizeof(sin), uaddr) &&
		    sin.sin_family == AF_INET) {
			r = sin.sin_addr.s_addr;
			rport = bpf_ntohs(sin.sin_port);
		}
		a->data[p] = AF_INET;
		__builtin_memcpy(&a->data[p + 1], inbound ? &r : &l, 4);
		__builtin_memcpy(&a->data[p + 5], inbound ? &rport : &lport, 2);
		__builtin_memcpy(&a->data[p + 7], inbound ? &l : &r, 4);
		__builtin_memcpy(&a->data[p + 11], inbound ? &lport : &rport, 2);
		push_written(a, 13);
	} else if (fam == AF_INET6) {
		struct in6_addr l = BPF_CORE_READ(sk, __sk_common.skc_v6_rcv_saddr);
		struct in6_addr r = BPF_CORE_READ(sk, __sk_common.skc_v6_daddr);
		struct sockaddr_in6 sin6 = {};

		if (rport == 0 && uaddr && !bpf_probe_read_user(&sin6, sizeof(sin6), uaddr) &&
		    sin6.sin6_family == AF_INET6) {
			r = sin6.sin6_addr;
			rport = bpf_ntohs(sin6.sin6_port);
		}
		a->data[p] = AF_INET6;
		__builtin_memcpy(&a->data[p + 1], inbound ? &r : &l, 16);
		__builtin_memcpy(&a->data[p + 17], inbound ? &rport : &lport, 2);
		__builtin_memcpy(&a->data[p + 19], inbound ? &l : &r, 16);
		__builtin_memcpy(&a->data[p + 35], inbound ? &lport : &rport, 2);
		push_written(a, 37);
	} else if (fam == AF_UNIX) {
		struct unix_sock *us = (struct unix_sock *)sk;
		struct unix_sock *peer = (struct unix_sock *)BPF_CORE_READ(us, peer);
		__u64 self = (__u64)sk, other = (__u64)peer;
		struct unix_address *ua;

		a->data[p] = AF_UNIX;
		__builtin_memcpy(&a->data[p + 1], inbound ? &self : &other, 8);
		__builtin_memcpy(&a->data[p + 9], inbound ? &other : &self, 8);
		if (inbound)
			ua = BPF_CORE_READ(us, addr);
		else
			ua = peer ? BPF_CORE_READ(peer, addr) : NULL;
		push_written(a, 17 + write_unix_path(a, p + 17, ua,
						     !inbound && !peer ? uaddr : NULL));
	} else {
		push_empty(a);
	}
	return 0;
}

/* PT_SOCKTUPLE of a socket, from the socket alone. */
static __always_inline void push_socktuple(struct aux *a, __u64 sk_ptr, int inbound)
{
	push_socktuple_addr(a, sk_ptr, inbound, 0);
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

#endif
