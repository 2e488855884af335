/* SPDX-License-Identifier: Apache-2.0 */
/* Events that are not syscalls: signal deliveries (always on), context
 * switches and user page faults (only when user space asks for them: the
 * "?" sections are not loaded unless enabled, see Config in sonde-probe). */
#ifndef SONDE_SCHED_H
#define SONDE_SCHED_H

#define K_SIGHUP 1
#define K_SIGINT 2
#define K_SIGQUIT 3
#define K_SIGKILL 9
#define K_SIGTERM 15
#define K_SIGCHLD 17
#define K_SIGTSTP 20
#define K_SIGRTMIN 32
#define K_SIGRTMAX 64

/* The sender of a signal, where siginfo names one (as libs decides it). */
static __always_inline __s64 signal_sender(int sig, struct kernel_siginfo *info)
{
	int code;

	if (!info)
		return 0;
	code = BPF_CORE_READ(info, si_code);
	switch (sig) {
	case K_SIGKILL:
	case K_SIGCHLD: /* the child */
		break;
	case K_SIGTERM:
	case K_SIGHUP:
	case K_SIGINT:
	case K_SIGTSTP:
	case K_SIGQUIT:
		if (code <= 0) /* SI_USER, SI_QUEUE, ...: sent by a process */
			break;
		return 0;
	default:
		if (sig >= K_SIGRTMIN && sig <= K_SIGRTMAX)
			break;
		return 0;
	}
	/* _kill._pid, _sigchld._pid and _rt._pid share their place */
	return BPF_CORE_READ(info, _sifields._kill._pid);
}

SEC("tp_btf/signal_deliver")
int BPF_PROG(signal_deliver, int sig, struct kernel_siginfo *info, void *ka)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u32 tid = pid_tgid;
	struct aux *a;

	if (!task_wanted(pid_tgid >> 32))
		return 0;
	a = aux_get();
	if (!a)
		return 0;
	evt_begin(a, PPME_SIGNALDELIVER_E, 3, DROP_PROC);
	push_s64(a, signal_sender(sig, info)); /* spid */
	push_s64(a, tid);		       /* dpid */
	push_u8(a, sig);
	evt_submit(a, bpf_ktime_get_ns(), tid, 0);
	return 0;
}

/* A context switch, as an event of the task leaving the CPU. */
SEC("?tp_btf/sched_switch")
int BPF_PROG(sched_switch, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	struct mm_struct *mm = prev->mm;
	__u32 tid = prev->pid;
	__u64 rss = 0, swap = 0;
	struct aux *a;

	if (!task_wanted(prev->tgid))
		return 0;
	a = aux_get();
	if (!a)
		return 0;
	if (mm)
		mm_rss(mm, &rss, &swap);
	evt_begin(a, PPME_SCHEDSWITCH_6_E, 6, DROP_GENERIC);
	push_s64(a, next->pid);
	push_u64(a, prev->maj_flt);
	push_u64(a, prev->min_flt);
	push_u32(a, mm ? BPF_CORE_READ(mm, total_vm) << 2 : 0); /* KiB */
	push_u32(a, rss << 2);
	push_u32(a, swap << 2);
	evt_submit(a, bpf_ktime_get_ns(), tid, 0);
	return 0;
}

/* Page fault error code bits (x86) to PPM_PF_* */
static __always_inline __u32 pf_flags_to_scap(__u64 e)
{
	__u32 r = 0;

	r |= e & 1 ? 1 : 2;   /* PROTECTION_VIOLATION : PAGE_NOT_PRESENT */
	r |= e & 2 ? 4 : 8;   /* WRITE_ACCESS : READ_ACCESS */
	r |= e & 4 ? 16 : 32; /* USER_FAULT : SUPERVISOR_FAULT */
	if (e & 8) r |= 64;   /* RESERVED_PAGE */
	if (e & 16) r |= 128; /* INSTRUCTION_FETCH */
	return r;
}

SEC("?tp_btf/page_fault_user")
int BPF_PROG(page_fault_user, unsigned long address, struct pt_regs *regs, unsigned long error_code)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u32 tid = pid_tgid;
	struct aux *a;

	if (!task_wanted(pid_tgid >> 32))
		return 0;
	a = aux_get();
	if (!a)
		return 0;
	evt_begin(a, PPME_PAGE_FAULT_E, 3, DROP_GENERIC);
	push_u64(a, address);
	push_u64(a, BPF_CORE_READ(regs, ip));
	push_u32(a, pf_flags_to_scap(error_code));
	evt_submit(a, bpf_ktime_get_ns(), tid, 0);
	return 0;
}

#endif
