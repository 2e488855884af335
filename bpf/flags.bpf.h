/* SPDX-License-Identifier: Apache-2.0 */
/* Kernel flag values (x86_64) and their translation to the PPM_* flags of the
 * event table (crates/event/data/flags.tsv), as the libs drivers translate them. */
#ifndef SONDE_FLAGS_H
#define SONDE_FLAGS_H

#define K_O_WRONLY 01
#define K_O_RDWR 02
#define K_O_CREAT 0100
#define K_O_EXCL 0200
#define K_O_TRUNC 01000
#define K_O_APPEND 02000
#define K_O_NONBLOCK 04000
#define K_O_DSYNC 010000
#define K_O_DIRECT 040000
#define K_O_LARGEFILE 0100000
#define K_O_DIRECTORY 0200000
#define K_O_CLOEXEC 02000000
#define K_O_SYNC 04010000
#define K_O_TMPFILE 020200000
#define K_FMODE_CREATED 0x100000
#define K_SOCK_NONBLOCK 04000
#define K_SOCK_CLOEXEC 02000000
#define AF_UNIX 1
#define AF_INET 2
#define AF_INET6 10

#define PPM_O_RDONLY 1
#define PPM_O_WRONLY 2
#define PPM_O_RDWR 3
#define PPM_O_CREAT 4
#define PPM_O_APPEND 8
#define PPM_O_DSYNC 16
#define PPM_O_EXCL 32
#define PPM_O_NONBLOCK 64
#define PPM_O_SYNC 128
#define PPM_O_TRUNC 256
#define PPM_O_DIRECT 512
#define PPM_O_DIRECTORY 1024
#define PPM_O_LARGEFILE 2048
#define PPM_O_CLOEXEC 4096
#define PPM_O_TMPFILE 8192
#define PPM_O_F_CREATED 16384

static __always_inline __u32 open_flags_to_scap(__u64 f)
{
	__u32 r;

	switch (f & (K_O_WRONLY | K_O_RDWR)) {
	case K_O_WRONLY: r = PPM_O_WRONLY; break;
	case K_O_RDWR: r = PPM_O_RDWR; break;
	default: r = PPM_O_RDONLY; break;
	}
	if (f & K_O_CREAT) r |= PPM_O_CREAT;
	if (f & K_O_TMPFILE) r |= PPM_O_TMPFILE; /* as the libs driver: any bit */
	if (f & K_O_APPEND) r |= PPM_O_APPEND;
	if (f & K_O_DSYNC) r |= PPM_O_DSYNC;
	if (f & K_O_EXCL) r |= PPM_O_EXCL;
	if (f & K_O_NONBLOCK) r |= PPM_O_NONBLOCK;
	if (f & K_O_SYNC) r |= PPM_O_SYNC;
	if (f & K_O_TRUNC) r |= PPM_O_TRUNC;
	if (f & K_O_DIRECT) r |= PPM_O_DIRECT;
	if (f & K_O_DIRECTORY) r |= PPM_O_DIRECTORY;
	if (f & K_O_LARGEFILE) r |= PPM_O_LARGEFILE;
	if (f & K_O_CLOEXEC) r |= PPM_O_CLOEXEC;
	return r;
}

/* PPM_S_* mode bits equal the kernel's; only meaningful with O_CREAT/O_TMPFILE. */
static __always_inline __u32 open_mode_to_scap(__u64 flags, __u64 mode)
{
	if (!(flags & (K_O_CREAT | K_O_TMPFILE)))
		return 0;
	return mode & 07777;
}

static __always_inline __u32 clone_flags_to_scap(__u64 f)
{
	__u32 r = 0;

	if (f & 0x00000400) r |= 1;	    /* CLONE_FILES */
	if (f & 0x00000200) r |= 2;	    /* CLONE_FS */
	if (f & 0x80000000) r |= 4;	    /* CLONE_IO */
	if (f & 0x08000000) r |= 8;	    /* CLONE_NEWIPC */
	if (f & 0x40000000) r |= 16;	    /* CLONE_NEWNET */
	if (f & 0x00020000) r |= 32;	    /* CLONE_NEWNS */
	if (f & 0x20000000) r |= 64;	    /* CLONE_NEWPID */
	if (f & 0x04000000) r |= 128;	    /* CLONE_NEWUTS */
	if (f & 0x00100000) r |= 512;	    /* CLONE_PARENT_SETTID */
	if (f & 0x00008000) r |= 256;	    /* CLONE_PARENT */
	if (f & 0x00002000) r |= 1024;	    /* CLONE_PTRACE */
	if (f & 0x00000800) r |= 2048;	    /* CLONE_SIGHAND */
	if (f & 0x00040000) r |= 4096;	    /* CLONE_SYSVSEM */
	if (f & 0x00010000) r |= 8192;	    /* CLONE_THREAD */
	if (f & 0x00800000) r |= 16384;	    /* CLONE_UNTRACED */
	if (f & 0x00000100) r |= 32768;	    /* CLONE_VM */
	if (f & 0x10000000) r |= 1048576;   /* CLONE_NEWUSER */
	if (f & 0x00200000) r |= 8388608;   /* CLONE_CHILD_CLEARTID */
	if (f & 0x01000000) r |= 16777216;  /* CLONE_CHILD_SETTID */
	if (f & 0x00080000) r |= 33554432;  /* CLONE_SETTLS */
	if (f & 0x00004000) r |= 134217728; /* CLONE_VFORK */
	if (f & 0x02000000) r |= 268435456; /* CLONE_NEWCGROUP */
	return r;
}

/* openat2 RESOLVE_* (kernel values differ from the PPM_RESOLVE_* ones). */
static __always_inline __u32 openat2_resolve_to_scap(__u64 r)
{
	__u32 res = 0;

	if (r & 0x01) res |= 16; /* RESOLVE_NO_XDEV */
	if (r & 0x02) res |= 4;	 /* RESOLVE_NO_MAGICLINKS */
	if (r & 0x04) res |= 8;	 /* RESOLVE_NO_SYMLINKS */
	if (r & 0x08) res |= 1;	 /* RESOLVE_BENEATH */
	if (r & 0x10) res |= 2;	 /* RESOLVE_IN_ROOT */
	if (r & 0x20) res |= 32; /* RESOLVE_CACHED */
	return res;
}

#endif
