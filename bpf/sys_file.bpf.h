/* SPDX-License-Identifier: Apache-2.0 */
/* Files and directories: directory changes, links, permissions and owners,
 * mounts, fcntl, getdents, and the syscalls that create special fds
 * (eventfd, signalfd, timerfd, inotify, memfd, epoll, userfaultfd, pidfd),
 * plus close_range. Paths are the user's strings, as the syscall got them. */
#ifndef SONDE_SYS_FILE_H
#define SONDE_SYS_FILE_H

#define NR_fcntl 72
#define NR_getdents 78
#define NR_chdir 80
#define NR_fchdir 81
#define NR_mkdir 83
#define NR_rmdir 84
#define NR_link 86
#define NR_symlink 88
#define NR_chmod 90
#define NR_fchmod 91
#define NR_chown 92
#define NR_fchown 93
#define NR_lchown 94
#define NR_chroot 161
#define NR_mount 165
#define NR_umount2 166
#define NR_epoll_create 213
#define NR_getdents64 217
#define NR_inotify_init 253
#define NR_mkdirat 258
#define NR_fchownat 260
#define NR_linkat 265
#define NR_symlinkat 266
#define NR_fchmodat 268
#define NR_signalfd 282
#define NR_timerfd_create 283
#define NR_eventfd 284
#define NR_signalfd4 289
#define NR_eventfd2 290
#define NR_epoll_create1 291
#define NR_inotify_init1 294
#define NR_memfd_create 319
#define NR_userfaultfd 323
#define NR_pidfd_open 434
#define NR_close_range 436

/* O_NONBLOCK and O_CLOEXEC of the fd-creating calls' flags (a negative
 * value has none). */
static __always_inline __u32 fd_flags_to_scap(__s32 f)
{
	__u32 r = 0;

	if (f < 0)
		return 0;
	if (f & K_O_NONBLOCK) r |= PPM_O_NONBLOCK;
	if (f & K_O_CLOEXEC) r |= PPM_O_CLOEXEC;
	return r;
}

/* fcntl commands (x86_64) to PPM_FCNTL_*; unknown ones are 0. */
static __always_inline __u8 fcntl_cmd_to_scap(__u32 cmd)
{
	switch (cmd) {
	case 0: return 1;	/* F_DUPFD */
	case 1: return 2;	/* F_GETFD */
	case 2: return 3;	/* F_SETFD */
	case 3: return 4;	/* F_GETFL */
	case 4: return 5;	/* F_SETFL */
	case 5: return 6;	/* F_GETLK */
	case 6: return 8;	/* F_SETLK */
	case 7: return 9;	/* F_SETLKW */
	case 8: return 10;	/* F_SETOWN */
	case 9: return 12;	/* F_GETOWN */
	case 10: return 13;	/* F_SETSIG */
	case 11: return 15;	/* F_GETSIG */
	case 15: return 21;	/* F_SETOWN_EX */
	case 16: return 22;	/* F_GETOWN_EX */
	case 36: return 30;	/* F_OFD_GETLK */
	case 37: return 31;	/* F_OFD_SETLK */
	case 38: return 32;	/* F_OFD_SETLKW */
	case 1024: return 23;	/* F_SETLEASE */
	case 1025: return 24;	/* F_GETLEASE */
	case 1026: return 27;	/* F_NOTIFY */
	case 1029: return 25;	/* F_CANCELLK */
	case 1030: return 26;	/* F_DUPFD_CLOEXEC */
	case 1031: return 28;	/* F_SETPIPE_SZ */
	case 1032: return 29;	/* F_GETPIPE_SZ */
	default: return 0;
	}
}

/* PPM_AT_FDCWD is the kernel's AT_FDCWD (-100): dirfds go as they are. */
static __always_inline void push_dirfd(struct aux *a, __u64 v)
{
	push_s64(a, (int)v);
}

/* mkdir, mkdirat, rmdir, chdir, fchdir, chroot */
__noinline int do_dir_exit(struct aux *a, struct sc_ctx *c)
{
	if (!a || !c)
		return 0;
	switch (c->id) {
	case NR_mkdir:
		evt_begin(a, PPME_SYSCALL_MKDIR_2_X, 3, DROP_FILE);
		push_s64(a, c->ret);
		push_user_str(a, (void *)arg(c, 0));
		push_u32(a, arg(c, 1)); /* mode, as given */
		break;
	case NR_mkdirat:
		evt_begin(a, PPME_SYSCALL_MKDIRAT_X, 4, DROP_FILE);
		push_s64(a, c->ret);
		push_dirfd(a, arg(c, 0));
		push_user_str(a, (void *)arg(c, 1));
		push_u32(a, arg(c, 2));
		break;
	case NR_rmdir:
		evt_begin(a, PPME_SYSCALL_RMDIR_2_X, 2, DROP_FILE);
		push_s64(a, c->ret);
		push_user_str(a, (void *)arg(c, 0));
		break;
	case NR_chdir:
		evt_begin(a, PPME_SYSCALL_CHDIR_X, 2, DROP_FILE);
		push_s64(a, c->ret);
		push_user_str(a, (void *)arg(c, 0));
		break;
	case NR_fchdir:
		evt_begin(a, PPME_SYSCALL_FCHDIR_X, 2, DROP_FILE);
		push_s64(a, c->ret);
		push_s64(a, (int)arg(c, 0));
		break;
	default: /* chroot */
		evt_begin(a, PPME_SYSCALL_CHROOT_X, 2, DROP_PROC);
		push_s64(a, c->ret);
		push_user_str(a, (void *)arg(c, 0));
		break;
	}
	return 0;
}

/* link, linkat, symlink, symlinkat */
__noinline int do_link_exit(struct aux *a, struct sc_ctx *c)
{
	if (!a || !c)
		return 0;
	switch (c->id) {
	case NR_link:
		evt_begin(a, PPME_SYSCALL_LINK_2_X, 3, DROP_FILE);
		push_s64(a, c->ret);
		push_user_str(a, (void *)arg(c, 0));
		push_user_str(a, (void *)arg(c, 1));
		break;
	case NR_linkat:
		evt_begin(a, PPME_SYSCALL_LINKAT_2_X, 6, DROP_FILE);
		push_s64(a, c->ret);
		push_dirfd(a, arg(c, 0));
		push_user_str(a, (void *)arg(c, 1));
		push_dirfd(a, arg(c, 2));
		push_user_str(a, (void *)arg(c, 3));
		/* AT_SYMLINK_FOLLOW and AT_EMPTY_PATH equal their PPM_ values */
		push_u32(a, arg(c, 4) & 0x1400);
		break;
	case NR_symlink:
		evt_begin(a, PPME_SYSCALL_SYMLINK_X, 3, DROP_FILE);
		push_s64(a, c->ret);
		push_user_str(a, (void *)arg(c, 0)); /* target */
		push_user_str(a, (void *)arg(c, 1)); /* linkpath */
		break;
	default: /* symlinkat */
		evt_begin(a, PPME_SYSCALL_SYMLINKAT_X, 4, DROP_FILE);
		push_s64(a, c->ret);
		push_user_str(a, (void *)arg(c, 0));
		push_dirfd(a, arg(c, 1));
		push_user_str(a, (void *)arg(c, 2));
		break;
	}
	return 0;
}

/* chmod, fchmod, fchmodat, chown, lchown, fchown, fchownat. The mode bits
 * equal the PPM_S_* values. */
__noinline int do_attr_exit(struct aux *a, struct sc_ctx *c)
{
	if (!a || !c)
		return 0;
	switch (c->id) {
	case NR_chmod:
		evt_begin(a, PPME_SYSCALL_CHMOD_X, 3, DROP_FILE);
		push_s64(a, c->ret);
		push_user_str(a, (void *)arg(c, 0));
		push_u32(a, arg(c, 1) & 07777);
		break;
	case NR_fchmod:
		evt_begin(a, PPME_SYSCALL_FCHMOD_X, 3, DROP_FILE);
		push_s64(a, c->ret);
		push_s64(a, (int)arg(c, 0));
		push_u32(a, arg(c, 1) & 07777);
		break;
	case NR_fchmodat:
		evt_begin(a, PPME_SYSCALL_FCHMODAT_X, 4, DROP_FILE);
		push_s64(a, c->ret);
		push_dirfd(a, arg(c, 0));
		push_user_str(a, (void *)arg(c, 1));
		push_u32(a, arg(c, 2) & 07777);
		break;
	case NR_chown:
	case NR_lchown:
		evt_begin(a, c->id == NR_chown ? PPME_SYSCALL_CHOWN_X : PPME_SYSCALL_LCHOWN_X, 4,
			  DROP_FILE);
		push_s64(a, c->ret);
		push_user_str(a, (void *)arg(c, 0));
		push_u32(a, arg(c, 1));
		push_u32(a, arg(c, 2));
		break;
	case NR_fchown:
		evt_begin(a, PPME_SYSCALL_FCHOWN_X, 4, DROP_FILE);
		push_s64(a, c->ret);
		push_s64(a, (int)arg(c, 0));
		push_u32(a, arg(c, 1));
		push_u32(a, arg(c, 2));
		break;
	default: /* fchownat */
		evt_begin(a, PPME_SYSCALL_FCHOWNAT_X, 6, DROP_FILE);
		push_s64(a, c->ret);
		push_dirfd(a, arg(c, 0));
		push_user_str(a, (void *)arg(c, 1));
		push_u32(a, arg(c, 2));
		push_u32(a, arg(c, 3));
		/* as libs: AT_SYMLINK_FOLLOW and AT_EMPTY_PATH, equal to their PPM_ values */
		push_u32(a, arg(c, 4) & 0x1400);
		break;
	}
	return 0;
}

/* mount, umount2 */
__noinline int do_mount_exit(struct aux *a, struct sc_ctx *c)
{
	if (!a || !c)
		return 0;
	if (c->id == NR_mount) {
		__u32 flags = arg(c, 3);

		/* the obsolete magic number in the top 16 bits (MS_MGC_VAL) is dropped */
		if ((flags & 0xffff0000) == 0xc0ed0000)
			flags &= 0xffff;
		evt_begin(a, PPME_SYSCALL_MOUNT_X, 5, DROP_FILE);
		push_s64(a, c->ret);
		push_user_str(a, (void *)arg(c, 0)); /* dev */
		push_user_str(a, (void *)arg(c, 1)); /* dir */
		push_user_str(a, (void *)arg(c, 2)); /* type */
		push_u32(a, flags);		     /* MS_* equal the PPM_MS_* values */
	} else {
		evt_begin(a, PPME_SYSCALL_UMOUNT2_X, 3, DROP_FILE);
		push_s64(a, c->ret);
		push_user_str(a, (void *)arg(c, 0));
		/* MNT_FORCE/DETACH/EXPIRE, UMOUNT_NOFOLLOW equal the PPM_ values */
		push_u32(a, arg(c, 1) & 0xf);
	}
	return 0;
}

/* fcntl, getdents, getdents64, close_range */
__noinline int do_fdop_exit(struct aux *a, struct sc_ctx *c)
{
	if (!a || !c)
		return 0;
	switch (c->id) {
	case NR_fcntl:
		evt_begin(a, PPME_SYSCALL_FCNTL_X, 4, DROP_FILE);
		push_s64(a, c->ret);
		push_s64(a, (int)arg(c, 0));
		push_u8(a, fcntl_cmd_to_scap(arg(c, 1)));
		push_u64(a, arg(c, 2));
		break;
	case NR_getdents:
	case NR_getdents64:
		evt_begin(a, c->id == NR_getdents ? PPME_SYSCALL_GETDENTS_X : PPME_SYSCALL_GETDENTS64_X,
			  2, DROP_FILE);
		push_s64(a, c->ret);
		push_s64(a, (int)arg(c, 0));
		break;
	default: /* close_range */
		evt_begin(a, PPME_SYSCALL_CLOSE_RANGE_X, 4, DROP_FILE);
		push_s64(a, c->ret);
		push_u32(a, arg(c, 0));
		push_u32(a, arg(c, 1));
		/* CLOSE_RANGE_UNSHARE/CLOEXEC equal their PPM_ values */
		push_u32(a, arg(c, 2) & 6);
		break;
	}
	return 0;
}

/* eventfd, eventfd2, signalfd, signalfd4, timerfd_create, inotify_init,
 * inotify_init1, memfd_create, epoll_create, epoll_create1, userfaultfd,
 * pidfd_open: calls that create one fd of a special kind */
__noinline int do_fdnew_exit(struct aux *a, struct sc_ctx *c)
{
	if (!a || !c)
		return 0;
	switch (c->id) {
	case NR_eventfd:
		evt_begin(a, PPME_SYSCALL_EVENTFD_X, 3, DROP_FILE);
		push_s64(a, c->ret);
		push_u64(a, arg(c, 0)); /* initval */
		push_u32(a, 0);		/* flags: eventfd has none */
		break;
	case NR_eventfd2:
		evt_begin(a, PPME_SYSCALL_EVENTFD2_X, 3, DROP_FILE);
		push_s64(a, c->ret);
		push_u16(a, fd_flags_to_scap(arg(c, 1)));
		push_u64(a, (__u32)arg(c, 0)); /* initval */
		break;
	case NR_signalfd:
		evt_begin(a, PPME_SYSCALL_SIGNALFD_X, 4, DROP_FILE);
		push_s64(a, c->ret);
		push_s64(a, (int)arg(c, 0));
		push_u32(a, 0); /* mask: not read, as libs (TODO if a view needs it) */
		push_u8(a, 0);	/* flags: signalfd has none */
		break;
	case NR_signalfd4:
		evt_begin(a, PPME_SYSCALL_SIGNALFD4_X, 4, DROP_FILE);
		push_s64(a, (int)c->ret);
		push_u16(a, fd_flags_to_scap(arg(c, 3)));
		push_s64(a, (int)arg(c, 0));
		push_u32(a, 0); /* mask: not read, as libs (TODO if a view needs it) */
		break;
	case NR_timerfd_create:
		evt_begin(a, PPME_SYSCALL_TIMERFD_CREATE_X, 3, DROP_FILE);
		push_s64(a, c->ret);
		push_u8(a, arg(c, 0)); /* clockid */
		/* a UINT8 parameter: PPM_O_CLOEXEC (4096) does not fit, as in libs */
		push_u8(a, fd_flags_to_scap(arg(c, 1)));
		break;
	case NR_inotify_init:
	case NR_inotify_init1:
		evt_begin(a, c->id == NR_inotify_init ? PPME_SYSCALL_INOTIFY_INIT_X
						      : PPME_SYSCALL_INOTIFY_INIT1_X,
			  2, DROP_FILE);
		push_s64(a, c->ret);
		if (c->id == NR_inotify_init)
			push_u8(a, 0);
		else
			push_u16(a, fd_flags_to_scap(arg(c, 0)));
		break;
	case NR_memfd_create:
		evt_begin(a, PPME_SYSCALL_MEMFD_CREATE_X, 3, DROP_FILE);
		push_s64(a, c->ret);
		push_user_str(a, (void *)arg(c, 0));
		/* MFD_CLOEXEC/ALLOW_SEALING/HUGETLB equal their PPM_ values */
		push_u32(a, arg(c, 1) & 7);
		break;
	case NR_epoll_create:
		evt_begin(a, PPME_SYSCALL_EPOLL_CREATE_X, 2, DROP_FILE);
		push_s64(a, c->ret);
		push_u32(a, arg(c, 0)); /* size: INT32 */
		break;
	case NR_epoll_create1:
		evt_begin(a, PPME_SYSCALL_EPOLL_CREATE1_X, 2, DROP_FILE);
		push_s64(a, c->ret);
		push_u32(a, arg(c, 0) & K_O_CLOEXEC ? 1 : 0); /* PPM_EPOLL_CLOEXEC */
		break;
	case NR_userfaultfd:
		evt_begin(a, PPME_SYSCALL_USERFAULTFD_X, 2, DROP_FILE);
		push_s64(a, c->ret);
		push_u32(a, arg(c, 0)); /* flags as given, as libs */
		break;
	default: /* pidfd_open */
		evt_begin(a, PPME_SYSCALL_PIDFD_OPEN_X, 3, DROP_FILE);
		push_s64(a, c->ret);
		push_s64(a, (int)arg(c, 0));
		push_u32(a, arg(c, 1) & K_O_NONBLOCK ? 1 : 0); /* PPM_PIDFD_NONBLOCK */
		break;
	}
	return 0;
}

#endif
