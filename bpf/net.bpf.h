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

#endif
