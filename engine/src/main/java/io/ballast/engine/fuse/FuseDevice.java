package io.ballast.engine.fuse;

import static io.ballast.engine.sys.Errno.EAGAIN;
import static io.ballast.engine.sys.Errno.EBUSY;
import static io.ballast.engine.sys.Errno.EINTR;
import static io.ballast.engine.sys.Errno.EINVAL;
import static io.ballast.engine.sys.Errno.ENODEV;
import static io.ballast.engine.sys.Errno.ENOENT;

import io.ballast.engine.error.BallastException;
import io.ballast.engine.error.ErrorCode;
import io.ballast.engine.sys.Libc;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import jnr.ffi.Pointer;

/**
 * The one place where the FUSE export calls the C library: {@code /dev/fuse} (open, read, write,
 * close) and {@code mount(2)} / {@code umount2(2)}; errno becomes an {@link ErrorCode} here.
 *
 * <p>One instance owns one {@code /dev/fuse} descriptor (one FUSE connection). {@link #read} and
 * {@link #write} may be called from any threads at once (the kernel serialises per request);
 * {@link #close()} only after the last of them returned: a descriptor number is reused by the
 * next open(2), so a late write would land in someone else's file. {@code FuseSession} enforces
 * that ordering.
 */
final class FuseDevice implements AutoCloseable {

    static final long MS_NOSUID = 2;
    static final long MS_NODEV = 4;
    static final long MS_NOEXEC = 8;
    static final int MNT_DETACH = 2;

    private static final int O_RDWR = 0x2;
    private static final int O_CLOEXEC = 0x80000;

    private final int fd;

    private FuseDevice(int fd) {
        this.fd = fd;
    }

    /** Opens {@code /dev/fuse}: a new, not yet mounted connection. */
    static FuseDevice open(Path device) {
        int fd = Libc.C.open(device.toString(), O_RDWR | O_CLOEXEC, 0);
        if (fd < 0) {
            int errno = Libc.errno();
            throw new BallastException(ErrorCode.FAILED_PRECONDITION, "open " + device + " failed: " + describe(errno)
                    + "; the FUSE export needs the fuse kernel module and root (CAP_SYS_ADMIN)");
        }
        return new FuseDevice(fd);
    }

    /** Serves an open /dev/fuse descriptor this process got from elsewhere (a connection taken over). */
    static FuseDevice adopt(int fd) {
        return new FuseDevice(fd);
    }

    int fd() {
        return fd;
    }

    /** A native pointer to {@code buffer}'s memory (a direct buffer) from its index 0. */
    static Pointer pointer(ByteBuffer buffer) {
        if (!buffer.isDirect()) {
            throw new IllegalArgumentException("FUSE buffers must be direct");
        }
        return Pointer.wrap(Libc.RUNTIME, buffer);
    }

    /**
     * Reads one request into {@code buf} (at most {@code capacity} bytes) and returns its length,
     * or -1 when the connection has ended (unmounted or aborted: ENODEV). Retries EINTR, EAGAIN
     * and ENOENT (a request interrupted before we read it). Other errors throw IO_ERROR.
     */
    int read(Pointer buf, int capacity) {
        while (true) {
            long n = Libc.C.read(fd, buf, capacity);
            if (n >= 0) {
                return (int) n;
            }
            int errno = Libc.errno();
            switch (errno) {
                case EINTR, EAGAIN, ENOENT -> {
                }
                case ENODEV -> {
                    return -1;
                }
                default -> throw new BallastException(ErrorCode.IO_ERROR, "read /dev/fuse failed: " + describe(errno));
            }
        }
    }

    /**
     * Writes one reply or notification of {@code length} bytes. Returns 0, or the errno the kernel
     * refused it with: ENOENT (the request was interrupted and is gone, or a notified inode is not
     * cached), ENODEV (connection ended), EINVAL (a malformed reply: a bug).
     */
    int write(Pointer buf, int length) {
        while (true) {
            long n = Libc.C.write(fd, buf, length);
            if (n == length) {
                return 0;
            }
            if (n >= 0) {
                return EINVAL; // the kernel takes a reply whole or not at all
            }
            int errno = Libc.errno();
            if (errno != EINTR) {
                return errno;
            }
        }
    }

    /** mount(2) this connection at {@code target}; {@code options} must contain {@code fd=}{@link #fd()}. */
    void mount(String source, Path target, String type, long flags, String options) {
        if (Libc.C.mount(source, target.toString(), type, flags, options) != 0) {
            int errno = Libc.errno();
            throw new BallastException(ErrorCode.IO_ERROR, "mount -t " + type + " -o " + options + " " + target
                    + " failed: " + describe(errno));
        }
    }

    /** umount2(2); returns 0 or the errno (EBUSY: still in use; EINVAL: not a mount point). */
    static int unmount(Path target, int flags) {
        if (Libc.C.umount2(target.toString(), flags) == 0) {
            return 0;
        }
        return Libc.errno();
    }

    static int uid() {
        return Libc.C.getuid();
    }

    static int gid() {
        return Libc.C.getgid();
    }

    static String describe(int errno) {
        return Libc.describe(errno);
    }

    @Override
    public void close() {
        if (Libc.C.close(fd) != 0) {
            throw new BallastException(ErrorCode.IO_ERROR, "close /dev/fuse failed: " + describe(Libc.errno()));
        }
    }
}
