package io.ballast.engine.sys;

import java.util.function.LongSupplier;
import jnr.ffi.LastError;
import jnr.ffi.LibraryLoader;
import jnr.ffi.Pointer;
import jnr.ffi.Runtime;
import jnr.ffi.annotations.In;
import jnr.ffi.annotations.Out;
import jnr.ffi.annotations.SaveError;

/**
 * The one binding of the C library that the engine calls through jnr-ffi: files and ioctls (block
 * store, loop devices), /dev/fuse and mount(2), sockets and netlink (kernel NBD attach),
 * pidfd_getfd (descriptor keeper). Each caller keeps its own errno-to-{@code ErrorCode} mapping,
 * which differs by what the call means; the binding, errno capture and strerror are shared here.
 *
 * <p>Loaded on first use; thread-safe (errno is captured per call by {@code @SaveError}).
 */
public final class Libc {
    /** The functions used. Public only because jnr-ffi generates an implementation of it. */
    public interface Functions {
        @SaveError
        int open(String path, int flags, int mode);

        @SaveError
        int close(int fd);

        @SaveError
        int dup(int fd);

        @SaveError
        long read(int fd, Pointer buf, long count);

        @SaveError
        long read(int fd, @Out byte[] buf, long count);

        @SaveError
        long write(int fd, Pointer buf, long count);

        @SaveError
        long write(int fd, @In byte[] buf, long count);

        @SaveError
        int ioctl(int fd, long request, long arg);

        @SaveError
        int ioctl(int fd, long request, @In @Out byte[] arg);

        @SaveError
        int fallocate(int fd, int mode, long offset, long length);

        @SaveError
        int fstat(int fd, @Out byte[] statBuffer);

        @SaveError
        long lseek(int fd, long offset, int whence);

        @SaveError
        int mknod(String path, int mode, long dev);

        @SaveError
        int mount(String source, String target, String filesystemType, long flags, String data);

        @SaveError
        int umount2(String target, int flags);

        @SaveError
        int socket(int domain, int type, int protocol);

        @SaveError
        int bind(int fd, @In byte[] addr, int length);

        @SaveError
        int connect(int fd, @In byte[] addr, int length);

        @SaveError
        long sendto(int fd, @In byte[] buf, long length, int flags, @In byte[] addr, int addrLength);

        @SaveError
        long recv(int fd, @Out byte[] buf, long length, int flags);

        @SaveError
        int setsockopt(int fd, int level, int option, @In byte[] value, int length);

        @SaveError
        int getsockopt(int fd, int level, int option, @Out byte[] value, @In @Out int[] length);

        @SaveError
        long syscall(long number, long a1, long a2, long a3);

        int getuid();

        int getgid();

        String strerror(int errno);
    }

    /** The C library. */
    public static final Functions C = LibraryLoader.create(Functions.class).load("c");
    /** Its jnr runtime (for pointers and errno). */
    public static final Runtime RUNTIME = Runtime.getRuntime(C);

    private Libc() {
    }

    /** errno of this thread's last {@code @SaveError} call. */
    public static int errno() {
        return LastError.getLastError(RUNTIME);
    }

    /** "errno N (text)" for messages. */
    public static String describe(int errno) {
        return "errno " + errno + " (" + C.strerror(errno) + ")";
    }

    /**
     * Runs a system call that returns -1 on failure again while it is interrupted (EINTR): its
     * result when it succeeds (>= 0), else the negated errno of the failure. The one EINTR loop.
     */
    public static long restarting(LongSupplier call) {
        while (true) {
            long result = call.getAsLong();
            if (result >= 0) {
                return result;
            }
            int errno = errno();
            if (errno != Errno.EINTR) {
                return -errno;
            }
        }
    }

    /** {@link #restarting} for calls whose success is 0: returns 0 or the errno of the failure. */
    public static int errnoOf(LongSupplier call) {
        long result = restarting(call);
        return result >= 0 ? 0 : (int) -result;
    }
}
