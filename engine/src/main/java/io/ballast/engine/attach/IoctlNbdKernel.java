package io.ballast.engine.attach;

import static io.ballast.engine.sys.Errno.EBUSY;

import static io.ballast.engine.attach.NbdNative.*;

import io.ballast.engine.error.BallastException;
import io.ballast.engine.error.ErrorCode;
import java.nio.file.Path;
import java.util.Map;
import java.util.OptionalInt;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.IntConsumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@link NbdKernel} over the old nbd ioctls, used only where the "nbd" generic netlink family does
 * not resolve but /dev/nbd0 exists (kernels before 4.12). Connect: pick a device whose sysfs has
 * no {@code pid}, NBD_SET_BLKSIZE, NBD_SET_SIZE_BLOCKS, NBD_SET_FLAGS, NBD_SET_SOCK (EBUSY: someone
 * took it, try the next), then a thread of this process blocks in NBD_DO_IT for the device's
 * life. Disconnect: NBD_DISCONNECT, wait for NBD_DO_IT to return, NBD_CLEAR_SOCK.
 *
 * <p>Limits: no reconnect (NBD_SET_SOCK is refused on a running device), so the device dies with
 * this process: a restart of {@code ballast node} fails the pod's I/O. No backend identifier, so
 * a restarted process does not find its devices. Thread-safe.
 */
final class IoctlNbdKernel implements NbdKernel {
    private static final Logger log = LoggerFactory.getLogger(IoctlNbdKernel.class);
    private static final long START_TIMEOUT_MILLIS = 10_000;

    /** Per running device: the descriptor NBD_DO_IT runs on and its thread. */
    private record Running(int fd, Thread doIt) {
    }

    private final Map<Integer, Running> running = new ConcurrentHashMap<>();

    @Override
    public String describe() {
        return "ioctl (no nbd generic netlink family; no reconnect)";
    }

    @Override
    public int connect(NbdNetlink.Connect c) {
        for (int n : indices()) {
            if (connectedPid(n).isPresent() || running.containsKey(n)) {
                continue;
            }
            int fd = openDevice(n, false);
            if (fd < 0) {
                continue;
            }
            int errno = configure(fd, c);
            if (errno == EBUSY) {
                close(fd);
                continue; // taken between the sysfs check and NBD_SET_SOCK
            }
            if (errno != 0) {
                close(fd);
                throw new BallastException(ErrorCode.IO_ERROR, "configuring /dev/nbd" + n + " by ioctl failed: "
                        + NbdNative.describe(errno));
            }
            int index = n;
            Thread t = new Thread(() -> serve(index, fd), "nbd" + n + "-do-it");
            t.setDaemon(true);
            running.put(n, new Running(fd, t));
            t.start();
            awaitStarted(n, t);
            return n;
        }
        throw new BallastException(ErrorCode.IO_ERROR, "no free nbd device (all /dev/nbd* are connected; "
                + "load the module with more: modprobe nbd nbds_max=N)");
    }

    private static int configure(int fd, NbdNetlink.Connect c) {
        int errno = ioctl(fd, NBD_SET_BLKSIZE, c.blockSize());
        if (errno == 0) {
            errno = ioctl(fd, NBD_SET_SIZE_BLOCKS, c.sizeBytes() / c.blockSize());
        }
        if (errno == 0) {
            errno = ioctl(fd, NBD_SET_FLAGS, c.serverFlags() & 0xffffL);
        }
        if (errno == 0) {
            errno = ioctl(fd, NBD_SET_SOCK, c.socketFd());
        }
        return errno;
    }

    private void serve(int index, int fd) {
        int errno = doIt(fd);
        ioctl(fd, NBD_CLEAR_SOCK, 0L);
        running.remove(index);
        close(fd);
        log.info("nbd{}: NBD_DO_IT returned ({})", index, errno == 0 ? "disconnected" : NbdNative.describe(errno));
    }

    private static void awaitStarted(int index, Thread doIt) {
        long deadline = System.nanoTime() + START_TIMEOUT_MILLIS * 1_000_000;
        while (connectedPid(index).isEmpty()) {
            if (!doIt.isAlive()) {
                throw new BallastException(ErrorCode.IO_ERROR, "NBD_DO_IT on /dev/nbd" + index + " ended at once");
            }
            if (System.nanoTime() > deadline) {
                throw new BallastException(ErrorCode.UNAVAILABLE, "/dev/nbd" + index + " did not start within "
                        + START_TIMEOUT_MILLIS + " ms");
            }
            sleep(5);
        }
    }

    @Override
    public boolean canReconnect() {
        return false;
    }

    @Override
    public void reconnect(int index, int socketFd, String backendId) {
        throw new BallastException(ErrorCode.FAILED_PRECONDITION, "/dev/nbd" + index + " is driven by ioctls "
                + "(this kernel has no nbd netlink interface), which cannot replace a dead connection");
    }

    @Override
    public long resize(int index, long sizeBytes, String backendId) {
        Running r = running.get(index);
        if (r == null) {
            throw new BallastException(ErrorCode.FAILED_PRECONDITION, "/dev/nbd" + index + " is not running here");
        }
        int errno = ioctl(r.fd(), NBD_SET_SIZE, sizeBytes);
        if (errno != 0) {
            throw new BallastException(ErrorCode.IO_ERROR, "NBD_SET_SIZE on /dev/nbd" + index + " failed: "
                    + NbdNative.describe(errno));
        }
        return sizeBytes(index);
    }

    @Override
    public void disconnect(int index, long timeoutMillis) {
        refuseWhileInUse(index);
        Running r = running.get(index);
        if (r == null) {
            return;
        }
        int errno = ioctl(r.fd(), NBD_DISCONNECT, 0L);
        if (errno != 0) {
            throw new BallastException(ErrorCode.IO_ERROR, "NBD_DISCONNECT on /dev/nbd" + index + " failed: "
                    + NbdNative.describe(errno));
        }
        try {
            r.doIt().join(timeoutMillis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new BallastException(ErrorCode.UNAVAILABLE, "interrupted while detaching /dev/nbd" + index, e);
        }
        if (r.doIt().isAlive()) {
            throw new BallastException(ErrorCode.INTERNAL, "/dev/nbd" + index + ": NBD_DO_IT still running "
                    + timeoutMillis + " ms after NBD_DISCONNECT");
        }
        awaitStopped(index, timeoutMillis);
    }

    @Override
    public OptionalInt findConnected(String backendId) {
        return OptionalInt.empty();
    }

    @Override
    public Path device(int index) {
        return deviceNode(index);
    }

    @Override
    public long sizeBytes(int index) {
        return LoopDevices.sizeBytes(device(index));
    }

    @Override
    public AutoCloseable onLinkDead(IntConsumer listener) {
        return () -> { }; // nothing to do about a dead link without reconnect
    }

    /** FAILED_PRECONDITION while /dev/nbdN is mounted or held exclusively (an O_EXCL open fails EBUSY). */
    static void refuseWhileInUse(int index) {
        int fd = openDevice(index, true);
        if (fd == -EBUSY) {
            throw new BallastException(ErrorCode.FAILED_PRECONDITION, "/dev/nbd" + index + " is in use (mounted "
                    + "or held open exclusively); unmount it before detaching");
        }
        close(fd); // other errors: the device is gone or unusable; disconnecting is still right
    }

    /** Waits until /dev/nbdN no longer reports a serving pid (the kernel stopped it). */
    static void awaitStopped(int index, long timeoutMillis) {
        long deadline = System.nanoTime() + timeoutMillis * 1_000_000;
        while (connectedPid(index).isPresent()) {
            if (System.nanoTime() > deadline) {
                throw new BallastException(ErrorCode.INTERNAL, "/dev/nbd" + index + " still connected "
                        + timeoutMillis + " ms after the disconnect");
            }
            sleep(10);
        }
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new BallastException(ErrorCode.UNAVAILABLE, "interrupted", e);
        }
    }
}
