/* SPDX-License-Identifier: Apache-2.0 */
/* Processes: signals sent (kill, tkill, tgkill), user and group ids,
 * sessions and process groups, namespaces (setns, unshare), prctl and
 * ptrace. */
#ifndef SONDE_SYS_PROC_H
#define SONDE_SYS_PROC_H

#define NR_kill 62
#define NR_ptrace 101
#define NR_setuid 105
#define NR_setgid 106
#define NR_setpgid 109
#define NR_setsid 112
#define NR_setreuid 113
#define NR_setregid 114
#define NR_setresuid 117
#define NR_setresgid 119
#define NR_prctl 157
#define NR_tkill 200
#define NR_tgkill 234
#define NR_unshare 272
#define NR_setns 308

/* kill, tkill, tgkill */
__noinline int do_kill_exit(struct aux *a, struct sc_ctx *c)
{
	if (!a || !c)
		return 0;
	switch (c->id) {
	case NR_kill:
		evt_begin(a, PPME_SYSCALL_KILL_X, 3, DROP_PROC);
		break;
	case NR_tkill:
		evt_begin(a, PPME_SYSCALL_TKILL_X, 3, DROP_PROC);
		break;
	default:
		evt_begin(a, PPME_SYSCALL_TGKILL_X, 4, DROP_PROC);
		break;
	}
	push_s64(a, c->ret);
	push_s64(a, (int)arg(c, 0)); /* pid, or tid for tkill */
	if (c->id == NR_tgkill) {
		push_s64(a, (int)arg(c, 1)); /* tid */
		push_u8(a, arg(c, 2));
	} else {
		push_u8(a, arg(c, 1));
	}
	return 0;
}

/* setuid, setgid, setreuid, setregid, setresuid, setresgid, setsid, setpgid:
 * the ids as asked for */
__noinline int do_ids_exit(struct aux *a, struct sc_ctx *c)
{
	if (!a || !c)
		return 0;
	int n = 0; /* user or group ids pushed after res */

	switch (c->id) {
	case NR_setuid:
		evt_begin(a, PPME_SYSCALL_SETUID_X, 2, DROP_PROC);
		n = 1;
		break;
	case NR_setgid:
		evt_begin(a, PPME_SYSCALL_SETGID_X, 2, DROP_PROC);
		n = 1;
		break;
	case NR_setreuid:
		evt_begin(a, PPME_SYSCALL_SETREUID_X, 3, DROP_PROC);
		n = 2;
		break;
	case NR_setregid:
		evt_begin(a, PPME_SYSCALL_SETREGID_X, 3, DROP_PROC);
		n = 2;
		break;
	case NR_setresuid:
		evt_begin(a, PPME_SYSCALL_SETRESUID_X, 4, DROP_PROC);
		n = 3;
		break;
	case NR_setresgid:
		evt_begin(a, PPME_SYSCALL_SETRESGID_X, 4, DROP_PROC);
		n = 3;
		break;
	case NR_setsid:
		evt_begin(a, PPME_SYSCALL_SETSID_X, 1, DROP_PROC);
		break;
	default: /* setpgid */
		evt_begin(a, PPME_SYSCALL_SETPGID_X, 3, DROP_PROC);
		push_s64(a, c->ret);
		push_s64(a, (int)arg(c, 0)); /* pid */
		push_s64(a, (int)arg(c, 1)); /* pgid */
		return 0;
	}
	push_s64(a, c->ret);
	if (n > 0)
		push_u32(a, arg(c, 0));
	if (n > 1)
		push_u32(a, arg(c, 1));
	if (n > 2)
		push_u32(a, arg(c, 2));
	return 0;
}

/* setns, unshare: CLONE_NEW* flags */
__noinline int do_ns_exit(struct aux *a, struct sc_ctx *c)
{
	if (!a || !c)
		return 0;
	if (c->id == NR_setns) {
		evt_begin(a, PPME_SYSCALL_SETNS_X, 3, DROP_PROC);
		push_s64(a, c->ret);
		push_s64(a, (int)arg(c, 0));
		push_u32(a, clone_flags_to_scap((int)arg(c, 1)));
	} else {
		evt_begin(a, PPME_SYSCALL_UNSHARE_X, 2, DROP_PROC);
		push_s64(a, c->ret);
		push_u32(a, clone_flags_to_scap((int)arg(c, 0)));
	}
	return 0;
}

#define PR_SET_NAME 15
#define PR_GET_NAME 16
#define PR_GET_CHILD_SUBREAPER 37

/* prctl: PR_* options equal the PPM_PR_* values */
__noinline int do_prctl_exit(struct aux *a, struct sc_ctx *c)
{
	if (!a || !c)
		return 0;
	__u32 option = arg(c, 0);
	__u64 arg2 = arg(c, 1);
	int reaper = 0;

	evt_begin(a, PPME_SYSCALL_PRCTL_X, 4, DROP_PROC);
	push_s64(a, c->ret);
	push_u32(a, option);
	switch (option) {
	case PR_SET_NAME:
	case PR_GET_NAME:
		push_user_str(a, (void *)arg2); /* arg2_str */
		push_s64(a, 0);
		break;
	case PR_GET_CHILD_SUBREAPER:
		bpf_probe_read_user(&reaper, sizeof(reaper), (void *)arg2);
		push_empty(a);
		push_s64(a, reaper); /* arg2_int: the value read */
		break;
	default:
		push_empty(a);
		push_s64(a, arg2);
		break;
	}
	return 0;
}

/* ptrace requests (x86_64) to PPM_PTRACE_*; unknown ones are 0. */
static __always_inline __u16 ptrace_req_to_scap(__u64 req)
{
	switch (req) {
	case 0: return 1;	 /* TRACEME */
	case 1: return 2;	 /* PEEKTEXT */
	case 2: return 3;	 /* PEEKDATA */
	case 3: return 4;	 /* PEEKUSR */
	case 4: return 5;	 /* POKETEXT */
	case 5: return 6;	 /* POKEDATA */
	case 6: return 7;	 /* POKEUSR */
	case 7: return 8;	 /* CONT */
	case 8: return 9;	 /* KILL */
	case 9: return 10;	 /* SINGLESTEP */
	case 12: return 26;	 /* GETREGS */
	case 13: return 27;	 /* SETREGS */
	case 14: return 28;	 /* GETFPREGS */
	case 15: return 29;	 /* SETFPREGS */
	case 16: return 11;	 /* ATTACH */
	case 17: return 12;	 /* DETACH */
	case 18: return 30;	 /* GETFPXREGS */
	case 19: return 31;	 /* SETFPXREGS */
	case 21: return 32;	 /* OLDSETOPTIONS */
	case 24: return 13;	 /* SYSCALL */
	case 25: return 33;	 /* GET_THREAD_AREA */
	case 26: return 34;	 /* SET_THREAD_AREA */
	case 30: return 35;	 /* ARCH_PRCTL */
	case 31: return 36;	 /* SYSEMU */
	case 32: return 37;	 /* SYSEMU_SINGLESTEP */
	case 33: return 38;	 /* SINGLEBLOCK */
	case 0x4200: return 14; /* SETOPTIONS */
	case 0x4201: return 15; /* GETEVENTMSG */
	case 0x4202: return 16; /* GETSIGINFO */
	case 0x4203: return 17; /* SETSIGINFO */
	case 0x4204: return 18; /* GETREGSET */
	case 0x4205: return 19; /* SETREGSET */
	case 0x4206: return 20; /* SEIZE */
	case 0x4207: return 21; /* INTERRUPT */
	case 0x4208: return 22; /* LISTEN */
	case 0x4209: return 23; /* PEEKSIGINFO */
	case 0x420a: return 24; /* GETSIGMASK */
	case 0x420b: return 25; /* SETSIGMASK */
	default: return 0;
	}
}

#define PPM_PTRACE_IDX_UINT64 0
#define PPM_PTRACE_IDX_SIGTYPE 1

/* One PT_DYN parameter: an index byte, then a u64 or a u8. */
static __always_inline void push_dyn(struct aux *a, __u8 idx, __u64 v, bool byte)
{
	__u32 p = a->pos & AUX_MASK;

	a->data[p] = idx;
	if (byte) {
		a->data[p + 1] = v;
		push_written(a, 2);
	} else {
		__builtin_memcpy(&a->data[p + 1], &v, 8);
		push_written(a, 9);
	}
}

/* ptrace: addr and data as libs sends them (0 when the call failed; a
 * PEEK's data is the word read, a resuming request's is the signal). */
__noinline int do_ptrace_exit(struct aux *a, struct sc_ctx *c)
{
	if (!a || !c)
		return 0;
	__u16 req = ptrace_req_to_scap(arg(c, 0));
	__u64 addr = arg(c, 2), data = arg(c, 3), word = 0;
	bool failed = c->ret < 0;

	evt_begin(a, PPME_SYSCALL_PTRACE_X, 5, DROP_PROC);
	push_s64(a, c->ret);
	push_dyn(a, PPM_PTRACE_IDX_UINT64, failed ? 0 : addr, false);
	if (failed) {
		push_dyn(a, PPM_PTRACE_IDX_UINT64, 0, false);
	} else if (req >= 2 && req <= 4) { /* PEEKTEXT, PEEKDATA, PEEKUSR */
		bpf_probe_read_user(&word, sizeof(word), (void *)data);
		push_dyn(a, PPM_PTRACE_IDX_UINT64, word, false);
	} else if (req == 8 || req == 10 || req == 12 || req == 13) {
		/* CONT, SINGLESTEP, DETACH, SYSCALL: data is a signal */
		push_dyn(a, PPM_PTRACE_IDX_SIGTYPE, data, true);
	} else {
		push_dyn(a, PPM_PTRACE_IDX_UINT64, data, false);
	}
	push_u16(a, req);
	push_s64(a, (int)arg(c, 1)); /* pid */
	return 0;
}

#endif
