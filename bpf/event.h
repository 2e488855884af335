/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Building one event in a per-CPU scratch buffer, parameter by parameter,
 * then copying it to the CPU's ring (layout in sonde.h).
 *
 * Layout in `struct aux.data`:
 *   [rec_prefix 16][header 26][nparams x u16 length][parameter data ...]
 * Parameters are pushed in table order; each push writes its length in the
 * length array and its bytes at `pos`. Offsets are masked so that the verifier
 * can see every access stays inside the buffer.
 */
#ifndef SONDE_EVENT_H
#define SONDE_EVENT_H

#include "sonde.h"

#define AUX_SIZE (1 << 17)
#define AUX_HALF (1 << 16)
#define AUX_MASK (AUX_HALF - 1)
#define MAX_PATH 4096
#define MAX_ARGS 4096
#define MAX_NAME 256
#define LENS_OFF (PREFIX_LEN + EVT_HDR_LEN)

struct aux {
	__u8 data[AUX_SIZE];
	__u32 pos;	   /* where the next parameter's bytes go */
	__u32 nparams;
	__u32 idx;	   /* index of the next parameter */
	__u32 drop_cat;
	__u16 code;
	__u32 nnames;	   /* path walk: number of components in names[] */
	__u64 names[32];   /* path walk: component names, leaf first */
};

/* One CPU's buffer: see the layout in sonde.h. */
struct cpu_buf {
	struct aux aux;
	__u8 _pad0[AUX_STRUCT_SIZE - sizeof(struct aux)];
	__u64 head;
	__u8 _pad1[56];
	__u64 tail;
	__u8 _pad2[4096 - 72];
	__u8 ring[]; /* ring size + RING_SLACK bytes */
};
_Static_assert(__builtin_offsetof(struct cpu_buf, head) == RING_HDR_OFF, "head");
_Static_assert(__builtin_offsetof(struct cpu_buf, tail) == RING_TAIL_OFF, "tail");
_Static_assert(__builtin_offsetof(struct cpu_buf, ring) == RING_DATA_OFF, "ring");

/* Ring size - 1 (a power of two); the value size of `cpu_bufs` is
 * RING_DATA_OFF + ring size + RING_SLACK. Both set by user space. */
const volatile __u64 ring_mask = 0;

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, 1); /* set to the number of CPUs by user space */
	__uint(key_size, 4);
	__uint(value_size, RING_DATA_OFF + 4096); /* set by user space */
} cpu_bufs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, DROP_CATEGORIES);
	__type(key, __u32);
	__type(value, __u64);
} drops SEC(".maps");

static __always_inline struct aux *aux_get(void)
{
	__u32 cpu = bpf_get_smp_processor_id();

	return bpf_map_lookup_elem(&cpu_bufs, &cpu);
}

static __always_inline void evt_begin(struct aux *a, __u16 code, __u32 nparams, __u32 cat)
{
	a->code = code;
	a->nparams = nparams;
	a->idx = 0;
	a->drop_cat = cat;
	a->pos = LENS_OFF + nparams * 2;
}

static __always_inline void set_len(struct aux *a, __u32 len)
{
	__u32 off = LENS_OFF + (a->idx & 31) * 2;
	__u16 l = len;

	__builtin_memcpy(&a->data[off], &l, 2);
	a->idx++;
}

static __always_inline void push_bytes(struct aux *a, const void *v, __u32 size)
{
	/* fixed-size scalars only: size is a compile-time constant <= 8 */
	__builtin_memcpy(&a->data[a->pos & AUX_MASK], v, size);
	a->pos += size;
	set_len(a, size);
}

static __always_inline void push_u8(struct aux *a, __u8 v) { push_bytes(a, &v, 1); }
static __always_inline void push_u16(struct aux *a, __u16 v) { push_bytes(a, &v, 2); }
static __always_inline void push_u32(struct aux *a, __u32 v) { push_bytes(a, &v, 4); }
static __always_inline void push_u64(struct aux *a, __u64 v) { push_bytes(a, &v, 8); }
static __always_inline void push_s64(struct aux *a, __s64 v) { push_bytes(a, &v, 8); }

static __always_inline void push_empty(struct aux *a) { set_len(a, 0); }

/* A NUL-terminated string from user memory (length includes the NUL). */
static __always_inline void push_user_str(struct aux *a, const void *p)
{
	long n = 0;

	if (p && a->pos < AUX_HALF)
		n = bpf_probe_read_user_str(&a->data[a->pos & AUX_MASK], MAX_PATH, p);
	if (n < 0)
		n = 0;
	a->pos += n;
	set_len(a, n);
}

/* A NUL-terminated string from kernel memory. */
static __always_inline void push_kernel_str(struct aux *a, const void *p, __u32 max)
{
	long n = 0;

	if (p && a->pos < AUX_HALF)
		n = bpf_probe_read_kernel_str(&a->data[a->pos & AUX_MASK], max & (MAX_PATH * 2 - 1), p);
	if (n < 0)
		n = 0;
	a->pos += n;
	set_len(a, n);
}

/* Hides a value's known range from the compiler, so that a following mask
 * is really emitted and the verifier sees the bound. */
#define BARRIER_VAR(v) asm volatile("" : "+r"(v))

/* `len` bytes from user memory, at most `max` (<= AUX_HALF). */
static __always_inline void push_user_buf(struct aux *a, const void *p, __u64 len, __u32 max)
{
	__u64 n = len > max ? max : len;

	BARRIER_VAR(n);
	n &= AUX_HALF - 1;
	if (!p || a->pos >= AUX_HALF || n == 0 ||
	    bpf_probe_read_user(&a->data[a->pos & AUX_MASK], n, p) < 0) {
		set_len(a, 0);
		return;
	}
	a->pos += n;
	set_len(a, n);
}

/* Raw bytes already in the scratch buffer at `pos` (caller wrote them). */
static __always_inline void push_written(struct aux *a, __u32 n)
{
	a->pos += n;
	set_len(a, n);
}

/* Events up to this size are copied to the ring by unrolled word stores;
 * bigger ones with one bpf_probe_read_kernel call. */
#define SMALL_EVENT 256

static __always_inline void count_drop(struct aux *a)
{
	__u32 cat = a->drop_cat;
	__u64 *cnt = bpf_map_lookup_elem(&drops, &cat);

	if (cnt)
		*cnt += 1;
}

/* Fills the header and publishes the event in this CPU's ring: no helper
 * call, no lock, no wakeup (user space drains on a timer). `a` must be the
 * start of this CPU's `cpu_bufs` entry (what aux_get returns). */
static __always_inline void evt_submit(struct aux *a, __u64 ts, __u32 tid, __u64 latency)
{
	struct cpu_buf *b = (struct cpu_buf *)a;
	struct rec_prefix *pre = (struct rec_prefix *)a->data;
	__u64 tid64 = tid, head, tail, off, rec;
	__u32 len = a->pos - PREFIX_LEN;
	__u32 size = a->pos;

	if (size > AUX_SIZE || size < PREFIX_LEN + EVT_HDR_LEN)
		return;
	pre->latency_ns = latency;
	pre->size = size;
	pre->kind = REC_EVENT;
	__builtin_memcpy(&a->data[PREFIX_LEN], &ts, 8);
	__builtin_memcpy(&a->data[PREFIX_LEN + 8], &tid64, 8);
	__builtin_memcpy(&a->data[PREFIX_LEN + 16], &len, 4);
	__builtin_memcpy(&a->data[PREFIX_LEN + 20], &a->code, 2);
	__builtin_memcpy(&a->data[PREFIX_LEN + 22], &a->nparams, 4);

	rec = (size + 7) & ~7ULL;
	head = b->head;
	tail = *(volatile __u64 *)&b->tail;
	if (head - tail + rec > ring_mask + 1) {
		count_drop(a);
		return;
	}
	off = head & ring_mask;
	if (size <= SMALL_EVENT) {
		__u64 *dst = (__u64 *)&b->ring[off];
		const __u64 *src = (const __u64 *)a->data;

#pragma unroll
		for (int i = 0; i < SMALL_EVENT / 8; i++) {
			if (i * 8 >= size)
				break;
			dst[i] = src[i];
		}
	} else if (bpf_probe_read_kernel(&b->ring[off], size, a->data)) {
		count_drop(a);
		return;
	}
	/* the record's bytes before the new head (x86: stores stay in order) */
	asm volatile("" ::: "memory");
	*(volatile __u64 *)&b->head = head + rec;
}

/* The generic syscall event (PPME_GENERIC_X: ID u16, nativeID u16), the
 * most frequent one, written straight into the ring as a short record
 * (struct rec_generic): four 8-byte stores. */
#define GENERIC_REC_LEN (PREFIX_LEN + 16)

static __always_inline void emit_generic(struct aux *a, __u64 ts, __u32 tid, __u64 latency,
					 __u16 ppm_sc, __u16 nr)
{
	struct cpu_buf *b = (struct cpu_buf *)a;
	__u64 head = b->head, tail = *(volatile __u64 *)&b->tail;
	__u64 *r;

	if (head - tail + GENERIC_REC_LEN > ring_mask + 1) {
		a->drop_cat = DROP_GENERIC;
		count_drop(a);
		return;
	}
	r = (__u64 *)&b->ring[head & ring_mask];
	r[0] = latency;
	r[1] = GENERIC_REC_LEN | ((__u64)REC_GENERIC << 32); /* size, kind */
	r[2] = ts;
	r[3] = tid | ((__u64)ppm_sc << 32) | ((__u64)nr << 48);
	asm volatile("" ::: "memory");
	*(volatile __u64 *)&b->head = head + GENERIC_REC_LEN;
}

#endif
