# A workload for the live stress capture (crates/cli/tests/live_stress.rs):
# clone/exec/exit races, unconnected datagram sockets, relative paths, odd
# fd types and IPv6 sockets, run once per invocation in the directory given
# as the first argument. The second argument is a program to exec (a copy
# of /bin/true with a name of the test's).
import ctypes
import os
import select
import signal
import socket
import sys
import threading

work = sys.argv[1]
true_exe = sys.argv[2]
libc = ctypes.CDLL(None, use_errno=True)


def quiet(f):
    try:
        f()
    except OSError:
        pass


def races():
    # threads that exit at once, several alive at the same time
    ts = [threading.Thread(target=lambda: os.getppid()) for _ in range(6)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    # forks whose children exit before or after the parent's clone exit
    kids = []
    for i in range(6):
        pid = os.fork()
        if pid == 0:
            if i % 2:
                os.execv(true_exe, [true_exe])
            os._exit(0)
        kids.append(pid)
    for pid in kids:
        os.waitpid(pid, 0)
    # a child that forks a grandchild and exits before it (reparenting)
    pid = os.fork()
    if pid == 0:
        if os.fork() == 0:
            os.getppid()
            os._exit(0)
        os._exit(0)
    os.waitpid(pid, 0)


def datagrams():
    rx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    rx.bind(("127.0.0.1", 0))
    rx2 = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    rx2.bind(("127.0.0.1", 0))
    tx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    tx.sendto(b"one", rx.getsockname())
    tx.sendmsg([b"two"], [], 0, rx2.getsockname())
    rx.recvfrom(16)
    rx2.recvmsg(16)
    tx.sendto(b"three", rx2.getsockname())
    rx2.recvfrom(16)
    tx.connect(rx.getsockname())
    tx.send(b"four")
    rx.recv(16)
    for s in (rx, rx2, tx):
        s.close()


def ipv6():
    srv = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("::1", 0))
    srv.listen(4)
    cli = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    cli.connect(srv.getsockname()[:2])
    conn, _ = srv.accept()
    cli.sendall(b"ping6")
    conn.recv(16)
    conn.sendall(b"pong6")
    cli.recv(16)
    for s in (conn, cli, srv):
        s.close()
    u = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    u.bind(("::1", 0))
    v = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    v.sendto(b"d6", u.getsockname()[:2])
    u.recvfrom(16)
    u.close()
    v.close()


def paths():
    sub = os.path.join(work, "sub")
    os.makedirs(sub, exist_ok=True)
    os.chdir(work)
    with open("./x", "w") as f:
        f.write("x")
    os.stat(".")
    os.stat("..")
    os.stat("./x")
    os.chdir("./sub")
    with open("../x") as f:
        f.read()
    fd = os.open(".", os.O_RDONLY)
    os.close(fd)
    os.chdir("..")
    quiet(lambda: os.stat("./missing"))
    os.chdir(work)


def odd_fds():
    r, w = os.pipe()
    os.write(w, b"p")
    os.read(r, 1)
    efd = os.eventfd(0)
    os.eventfd_write(efd, 3)
    os.eventfd_read(efd)
    m = os.memfd_create("stressmem")
    os.write(m, b"memfd")
    os.lseek(m, 0, 0)
    os.read(m, 5)
    # timerfd (CLOCK_MONOTONIC), signalfd (SIGUSR2 blocked), inotify
    tfd = libc.timerfd_create(1, 0)
    mask = (ctypes.c_ulong * 16)()
    mask[0] = 1 << (signal.SIGUSR2 - 1)
    signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGUSR2])
    sfd = libc.signalfd(-1, ctypes.byref(mask), 0)
    ifd = libc.inotify_init1(0)
    if ifd >= 0:
        libc.inotify_add_watch(ifd, work.encode(), 0x100)
    ep = select.epoll()
    ep.register(r, select.EPOLLIN)
    ep.poll(0)
    a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    a.send(b"u")
    b.recv(1)
    path = os.path.join(work, "unix.sock")
    quiet(lambda: os.unlink(path))
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(path)
    srv.listen(1)
    cli = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    cli.connect(path)
    conn, _ = srv.accept()
    cli.send(b"x")
    conn.recv(1)
    # a bpf array map (BPF_MAP_CREATE) when the kernel lets us
    attr = (ctypes.c_uint32 * 32)(2, 4, 4, 1)
    bfd = libc.syscall(321, 0, ctypes.byref(attr), 128)
    for fd in (r, w, efd, m, tfd, sfd, ifd, bfd):
        if fd >= 0:
            os.close(fd)
    ep.close()
    for s in (a, b, cli, conn, srv):
        s.close()


races()
datagrams()
ipv6()
paths()
odd_fds()
