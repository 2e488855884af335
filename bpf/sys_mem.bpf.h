/* SPDX-License-Identifier: Apache-2.0 */
/* Memory: mmap, munmap, brk, mprotect. The first three also carry the
 * process's memory after the call (vm_size, vm_rss, vm_swap, in KiB). */
#ifndef SONDE_SYS_MEM_H
#define SONDE_SYS_MEM_H

#define NR_mmap 9
#define NR_mprotect 10
#define NR_munmap 11
#define NR_brk 12

/* PROT_* (x86_64) to PPM_PROT_* */
static __always_inline __u32 prot_to_scap(__u64 prot)
{
	__u32 r = prot & 0xf; /* READ, WRITE, EXEC, SEM: equal values */

	if (prot & 0x01000000) r |= 16; /* PROT_GROWSDOWN */
	if (prot & 0x02000000) r |= 32; /* PROT_GROWSUP */
	return r;
}

/* MAP_* (x86_64) to PPM_MAP_* */
static __always_inline __u32 mmap_flags_to_scap(__u64 f)
{
	__u32 r = f & 3; /* SHARED, PRIVATE */

	if (f & 0x10) r |= 4;	      /* MAP_FIXED */
	if (f & 0x20) r |= 8;	      /* MAP_ANONYMOUS */
	if (f & 0x40) r |= 16;	      /* MAP_32BIT */
	if (f & 0x4000) r |= 64;      /* MAP_NORESERVE */
	if (f & 0x8000) r |= 128;     /* MAP_POPULATE */
	if (f & 0x10000) r |= 256;    /* MAP_NONBLOCK */
	if (f & 0x100) r |= 512;      /* MAP_GROWSDOWN */
	if (f & 0x800) r |= 1024;     /* MAP_DENYWRITE */
	if (f & 0x1000) r |= 2048;    /* MAP_EXECUTABLE */
	if (f & 0x2000) r |= 16384;   /* MAP_LOCKED */
	return r;
}

/* vm_size, vm_rss, vm_swap (KiB) of the current process */
static __always_inline void push_vm(struct aux *a, struct task_struct *t)
{
	struct mm_struct *mm = BPF_CORE_READ(t, mm);
	__u64 rss = 0, swap = 0;

	if (mm)
		mm_rss(mm, &rss, &swap);
	push_u32(a, mm ? BPF_CORE_READ(mm, total_vm) << 2 : 0); /* pages to KiB */
	push_u32(a, rss << 2);
	push_u32(a, swap << 2);
}

/* mmap, munmap, brk, mprotect */
__noinline int do_mem_exit(struct aux *a, struct sc_ctx *c)
{
	if (!a || !c)
		return 0;
	switch (c->id) {
	case NR_mmap:
		evt_begin(a, PPME_SYSCALL_MMAP_X, 10, DROP_GENERIC);
		push_s64(a, c->ret);
		push_vm(a, c->task);
		push_u64(a, arg(c, 0)); /* addr */
		push_u64(a, arg(c, 1)); /* length */
		push_u32(a, prot_to_scap(arg(c, 2)));
		push_u32(a, mmap_flags_to_scap(arg(c, 3)));
		push_s64(a, (int)arg(c, 4)); /* fd */
		push_u64(a, sixth_arg());    /* offset */
		break;
	case NR_munmap:
		evt_begin(a, PPME_SYSCALL_MUNMAP_X, 6, DROP_GENERIC);
		push_s64(a, c->ret);
		push_vm(a, c->task);
		push_u64(a, arg(c, 0));
		push_u64(a, arg(c, 1));
		break;
	case NR_brk:
		evt_begin(a, PPME_SYSCALL_BRK_4_X, 5, DROP_GENERIC);
		push_u64(a, c->ret); /* the new program break */
		push_vm(a, c->task);
		push_u64(a, arg(c, 0));
		break;
	default: /* mprotect */
		evt_begin(a, PPME_SYSCALL_MPROTECT_X, 4, DROP_GENERIC);
		push_s64(a, c->ret);
		push_u64(a, arg(c, 0));
		push_u64(a, arg(c, 1));
		push_u32(a, prot_to_scap(arg(c, 2)));
		break;
	}
	return 0;
}

#endif
