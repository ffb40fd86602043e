package io.ballast.engine.keeper;

import static io.ballast.engine.sys.Errno.EBADF;
import static io.ballast.engine.sys.Errno.ENOSYS;
import static io.ballast.engine.sys.Errno.EPERM;
import static io.ballast.engine.sys.Errno.ESRCH;

import io.ballast.engine.error.BallastException;
import io.ballast.engine.error.ErrorCode;
import io.ballast.engine.sys.Libc;

/**
 * Copies an open file descriptor out of another process: pidfd_open(2) then pidfd_getfd(2)
 * (Linux 5.6+). The copy refers to the same open file (for /dev/fuse: the same FUSE connection),
 * like dup(2) across processes, and has close-on-exec set. The caller needs ptrace access to the
 * other process: root with CAP_SYS_PTRACE, as the node plugin's privileged container has.
 *
 * <p>Why not SCM_RIGHTS over the unix socket: it needs msghdr/cmsghdr marshalling by hand for one
 * integer; pidfd_getfd is two plain system calls. Stateless and thread-safe.
 */
public final class ProcessFds {
    private static final long SYS_PIDFD_OPEN = 434; // same number on x86_64 and aarch64
    private static final long SYS_PIDFD_GETFD = 438;

    private ProcessFds() {
    }

    /**
     * A new descriptor in this process for descriptor {@code fd} of process {@code pid}.
     *
     * @throws BallastException NOT_FOUND when the process or its descriptor does not exist;
     *                          FAILED_PRECONDITION without ptrace permission or on a kernel older than 5.6
     */
    public static int copyFrom(long pid, int fd) {
        long pidfd = Libc.C.syscall(SYS_PIDFD_OPEN, pid, 0, 0);
        if (pidfd < 0) {
            throw failure("pidfd_open(" + pid + ")", Libc.errno());
        }
        try {
            long copy = Libc.C.syscall(SYS_PIDFD_GETFD, pidfd, fd, 0);
            if (copy < 0) {
                throw failure("pidfd_getfd(pid " + pid + ", fd " + fd + ")", Libc.errno());
            }
            return (int) copy;
        } finally {
            Libc.C.close((int) pidfd);
        }
    }

    /** close(2); errors are returned, not thrown (there is nothing a caller could do about them). */
    public static int close(int fd) {
        return Libc.C.close(fd) == 0 ? 0 : Libc.errno();
    }

    /** This process's id as the kernel knows it. */
    public static long pid() {
        return ProcessHandle.current().pid();
    }

    private static BallastException failure(String call, int errno) {
        String what = call + " failed: " + Libc.describe(errno);
        return switch (errno) {
            case ESRCH, EBADF -> new BallastException(ErrorCode.NOT_FOUND, what);
            case EPERM -> new BallastException(ErrorCode.FAILED_PRECONDITION, what
                    + "; copying a descriptor out of another process needs ptrace permission (CAP_SYS_PTRACE)");
            case ENOSYS -> new BallastException(ErrorCode.FAILED_PRECONDITION, what + "; the kernel needs to be 5.6 or later");
            default -> new BallastException(ErrorCode.IO_ERROR, what);
        };
    }
}
