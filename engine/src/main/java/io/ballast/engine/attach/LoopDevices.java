package io.ballast.engine.attach;

import static io.ballast.engine.sys.Errno.EBUSY;
import static io.ballast.engine.sys.Errno.EINVAL;
import static io.ballast.engine.sys.Errno.ENXIO;

import io.ballast.engine.error.BallastException;
import io.ballast.engine.error.ErrorCode;
import io.ballast.engine.sys.Libc;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * The one place where Ballast drives loop devices: LOOP_CTL_GET_FREE on /dev/loop-control,
 * LOOP_CONFIGURE (Linux 5.8+) to bind a file with block size and direct I/O in one step,
 * LOOP_GET_STATUS64 to read back what the kernel kept, LOOP_SET_CAPACITY after the file grew,
 * LOOP_CLR_FD to detach (LOOP_SET_STATUS64 to take back a deferred detach), BLKGETSIZE64 for the size. Everything through jnr-ffi ioctls; errno becomes
 * an {@link ErrorCode} here.
 *
 * <p>No LO_FLAGS_AUTOCLEAR: it would detach the device as soon as our own descriptor closes
 * (nothing else holds it yet); devices are detached explicitly by {@link #detach}.
 *
 * <p>Thread-safe (stateless; the kernel arbitrates free devices: a device taken between
 * GET_FREE and CONFIGURE answers EBUSY and we take another).
 */
public final class LoopDevices {
    static final long LOOP_CLR_FD = 0x4C01;
    static final long LOOP_SET_STATUS64 = 0x4C04;
    static final long LOOP_GET_STATUS64 = 0x4C05;
    static final long LOOP_SET_CAPACITY = 0x4C07;
    static final long LOOP_SET_DIRECT_IO = 0x4C08;
    static final long LOOP_CONFIGURE = 0x4C0A;
    static final long LOOP_CTL_GET_FREE = 0x4C82;
    /** {@code BLKGETSIZE64 = _IOR(0x12, 114, size_t)}. */
    static final long BLKGETSIZE64 = 0x80081272L;

    static final int LO_FLAGS_AUTOCLEAR = 4;
    static final int LO_FLAGS_DIRECT_IO = 16;

    private static final int O_RDONLY = 0;
    private static final int O_RDWR = 2;
    private static final int O_EXCL = 0x80;
    private static final int O_CLOEXEC = 0x80000;
    private static final int LOOP_MAJOR = 7;
    private static final int S_IFBLK = 0060000;
    private static final int ATTEMPTS = 8;

    private LoopDevices() {
    }

    /**
     * Binds {@code file} to a free loop device with logical block size {@code blockSize}, read-write,
     * with direct I/O if {@code directIo} and the kernel accepts it for this file (else without; the
     * result says which). Fails with FAILED_PRECONDITION without /dev/loop-control.
     */
    public static LoopDevice attach(Path file, int blockSize, boolean directIo) {
        Path control = Path.of("/dev/loop-control");
        int ctl = Libc.C.open(control.toString(), O_RDWR | O_CLOEXEC, 0);
        if (ctl < 0) {
            throw new BallastException(ErrorCode.FAILED_PRECONDITION, "open " + control + " failed: "
                    + describe(Libc.errno()) + "; loop devices need the loop module and root");
        }
        int backing = open(file, O_RDWR);
        try {
            for (int attempt = 0; attempt < ATTEMPTS; attempt++) {
                int n = Libc.C.ioctl(ctl, LOOP_CTL_GET_FREE, 0L);
                if (n < 0) {
                    throw new BallastException(ErrorCode.IO_ERROR, "LOOP_CTL_GET_FREE failed: " + describe(Libc.errno()));
                }
                Path dev = deviceNode(n);
                int fd = open(dev, O_RDWR);
                try {
                    int errno = configure(fd, backing, blockSize, directIo, file);
                    if (errno == EINVAL && directIo) {
                        // Some kernels refuse direct I/O at configure time when the file cannot do it.
                        errno = configure(fd, backing, blockSize, false, file);
                    }
                    if (errno == EBUSY) {
                        continue; // taken by someone else since GET_FREE
                    }
                    if (errno != 0) {
                        throw new BallastException(ErrorCode.IO_ERROR, "LOOP_CONFIGURE of " + dev + " with " + file
                                + " (block size " + blockSize + ") failed: " + describe(errno)
                                + (errno == EINVAL ? "; LOOP_CONFIGURE needs Linux 5.8+" : ""));
                    }
                    boolean dio = (flags(fd, dev) & LO_FLAGS_DIRECT_IO) != 0;
                    return new LoopDevice(dev, n, file, blockSize, dio);
                } finally {
                    Libc.C.close(fd);
                }
            }
            throw new BallastException(ErrorCode.IO_ERROR, "no free loop device after " + ATTEMPTS
                    + " attempts (other processes keep taking them)");
        } finally {
            Libc.C.close(backing);
            Libc.C.close(ctl);
        }
    }

    private static int configure(int fd, int backing, int blockSize, boolean directIo, Path file) {
        ByteBuffer c = ByteBuffer.allocate(LoopConfigDescriptor.LENGTH).order(ByteOrder.nativeOrder());
        c.putInt(LoopConfigDescriptor.FD_OFFSET, backing);
        c.putInt(LoopConfigDescriptor.BLOCK_SIZE_OFFSET, blockSize);
        int info = LoopConfigDescriptor.INFO_OFFSET;
        c.putInt(info + LoopInfoDescriptor.FLAGS_OFFSET, directIo ? LO_FLAGS_DIRECT_IO : 0);
        byte[] name = file.toString().getBytes(StandardCharsets.UTF_8);
        c.put(info + LoopInfoDescriptor.FILE_NAME_OFFSET, name, 0,
                Math.min(name.length, LoopInfoDescriptor.FILE_NAME_LENGTH - 1));
        return ioctl(fd, LOOP_CONFIGURE, c.array());
    }

    /** LOOP_SET_CAPACITY: re-reads the backing file's size. Returns the device's new size in bytes. */
    public static long setCapacity(LoopDevice loop) {
        int fd = open(loop.device(), O_RDONLY);
        try {
            int errno = ioctl(fd, LOOP_SET_CAPACITY, 0L);
            if (errno != 0) {
                throw new BallastException(ErrorCode.IO_ERROR, "LOOP_SET_CAPACITY on " + loop.device() + " failed: "
                        + describe(errno));
            }
            return size(fd, loop.device());
        } finally {
            Libc.C.close(fd);
        }
    }

    /** The size of block device {@code device} in bytes (BLKGETSIZE64). */
    public static long sizeBytes(Path device) {
        int fd = open(device, O_RDONLY);
        try {
            return size(fd, device);
        } finally {
            Libc.C.close(fd);
        }
    }

    /**
     * Detaches {@code loop} (LOOP_CLR_FD) and waits until the kernel released the backing file.
     * Refuses with FAILED_PRECONDITION, changing nothing, while the device is mounted or opened
     * exclusively (an O_EXCL open fails) or held open by another process (the kernel would only
     * defer the detach to the last close: we take that back). A device no longer bound to
     * {@code loop.backing()} is fine (idempotent).
     */
    public static void detach(LoopDevice loop, long timeoutMillis) {
        Path dev = loop.device();
        int fd = Libc.C.open(dev.toString(), O_RDONLY | O_EXCL | O_CLOEXEC, 0);
        if (fd < 0) {
            int errno = Libc.errno();
            if (errno == EBUSY) {
                throw new BallastException(ErrorCode.FAILED_PRECONDITION, dev + " is in use (mounted or held "
                        + "open exclusively); unmount it before detaching");
            }
            throw new BallastException(ErrorCode.IO_ERROR, "open " + dev + " failed: " + describe(errno));
        }
        try {
            if (!backingMatches(loop)) {
                return; // already detached (and maybe reused for another file): nothing of ours to do
            }
            int errno = ioctl(fd, LOOP_CLR_FD, 0L);
            if (errno != 0 && errno != ENXIO) {
                throw new BallastException(ErrorCode.IO_ERROR, "LOOP_CLR_FD on " + dev + " failed: " + describe(errno));
            }
            // As the only opener the device is now running down and LOOP_GET_STATUS64 says ENXIO. With
            // other openers the kernel merely set LO_FLAGS_AUTOCLEAR (detach at their last close).
            byte[] info = new byte[LoopInfoDescriptor.LENGTH];
            if (ioctl(fd, LOOP_GET_STATUS64, info) == 0) {
                ByteBuffer b = ByteBuffer.wrap(info).order(ByteOrder.nativeOrder());
                b.putInt(LoopInfoDescriptor.FLAGS_OFFSET, b.getInt(LoopInfoDescriptor.FLAGS_OFFSET) & ~LO_FLAGS_AUTOCLEAR);
                int undo = ioctl(fd, LOOP_SET_STATUS64, info);
                throw new BallastException(ErrorCode.FAILED_PRECONDITION, dev + " is open in another process; close "
                        + "it before detaching" + (undo == 0 ? "" : " (and the deferred detach could not be taken back: "
                        + describe(undo) + "; it happens at that process's last close)"));
            }
        } finally {
            Libc.C.close(fd); // the last close completes the detach
        }
        long deadline = System.nanoTime() + timeoutMillis * 1_000_000;
        while (backingMatches(loop)) {
            if (System.nanoTime() > deadline) {
                throw new BallastException(ErrorCode.INTERNAL, dev + " still bound to " + loop.backing()
                        + " " + timeoutMillis + " ms after LOOP_CLR_FD");
            }
            try {
                Thread.sleep(10);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new BallastException(ErrorCode.UNAVAILABLE, "interrupted while detaching " + dev, e);
            }
        }
    }

    /** The backing file of {@code /dev/loopN} from sysfs, or empty when the device is not bound. */
    public static Optional<Path> backingFile(int number) {
        Path p = Path.of("/sys/block/loop" + number + "/loop/backing_file");
        try {
            return Optional.of(Path.of(Files.readString(p).strip()));
        } catch (IOException e) {
            return Optional.empty(); // not bound: the loop/ directory is absent
        }
    }

    /**
     * The loop device bound to {@code file}, read back from sysfs: how a restarted node finds the
     * device an earlier process of it bound (the device outlives the process).
     */
    public static Optional<LoopDevice> boundTo(Path file) {
        for (int n : boundUnder(file)) {
            Optional<Path> backing = backingFile(n).filter(file::equals);
            if (backing.isPresent()) {
                return Optional.of(new LoopDevice(deviceNode(n), n, file, blockSize(n), directIoInEffect(n)));
            }
        }
        return boundToSameFile(file);
    }

    /**
     * The loop device whose backing file is {@code file} by identity (device and inode, from
     * LOOP_GET_STATUS64), whatever path sysfs shows for it. The path is the one the binding process
     * saw: a node plugin restarted in a new container (a new mount namespace) finds the devices its
     * predecessor bound showing only the path inside the file system ("/volume"), because the mount
     * they were opened through lives on in the dead container's namespace. Missing such a device
     * would bind a second one and leave the first holding the FUSE connection open for ever.
     */
    private static Optional<LoopDevice> boundToSameFile(Path file) {
        long dev;
        long ino;
        try {
            dev = ((Number) Files.getAttribute(file, "unix:dev")).longValue();
            ino = ((Number) Files.getAttribute(file, "unix:ino")).longValue();
        } catch (IOException | UnsupportedOperationException | IllegalArgumentException e) {
            return Optional.empty();
        }
        try (var entries = Files.newDirectoryStream(Path.of("/sys/block"), "loop*")) {
            for (Path e : entries) {
                int n = Integer.parseInt(e.getFileName().toString().substring(4));
                Optional<Path> backing = backingFile(n);
                if (backing.isEmpty()) {
                    continue;
                }
                int fd = Libc.C.open(deviceNode(n).toString(), O_RDONLY | O_CLOEXEC, 0);
                if (fd < 0) {
                    continue;
                }
                try {
                    byte[] info = new byte[LoopInfoDescriptor.LENGTH];
                    if (ioctl(fd, LOOP_GET_STATUS64, info) != 0) {
                        continue;
                    }
                    ByteBuffer b = ByteBuffer.wrap(info).order(ByteOrder.nativeOrder());
                    if (b.getLong(LoopInfoDescriptor.DEVICE_OFFSET) == dev && b.getLong(LoopInfoDescriptor.INODE_OFFSET) == ino) {
                        return Optional.of(new LoopDevice(deviceNode(n), n, backing.get(), blockSize(n), directIoInEffect(n)));
                    }
                } finally {
                    Libc.C.close(fd);
                }
            }
        } catch (IOException | NumberFormatException e) {
            throw new BallastException(ErrorCode.IO_ERROR, "cannot list loop devices in /sys/block: " + e, e);
        }
        return Optional.empty();
    }

    private static int blockSize(int n) {
        try {
            return Integer.parseInt(Files.readString(Path.of("/sys/block/loop" + n + "/queue/logical_block_size")).strip());
        } catch (IOException | NumberFormatException e) {
            throw new BallastException(ErrorCode.IO_ERROR, "cannot read the block size of /dev/loop" + n + ": " + e, e);
        }
    }

    /** Bound loop devices whose backing file lies at or under {@code path} (sysfs), for cleanup and status. */
    public static List<Integer> boundUnder(Path path) {
        List<Integer> found = new ArrayList<>();
        try (var entries = Files.newDirectoryStream(Path.of("/sys/block"), "loop*")) {
            for (Path e : entries) {
                int n = Integer.parseInt(e.getFileName().toString().substring(4));
                backingFile(n).filter(b -> b.startsWith(path)).ifPresent(b -> found.add(n));
            }
        } catch (IOException | NumberFormatException e) {
            throw new BallastException(ErrorCode.IO_ERROR, "cannot list loop devices in /sys/block: " + e, e);
        }
        return found;
    }

    /** Whether sysfs reads {@code /sys/block/loopN/loop/dio} as 1 (direct I/O in effect now). */
    public static boolean directIoInEffect(int number) {
        try {
            return Files.readString(Path.of("/sys/block/loop" + number + "/loop/dio")).strip().equals("1");
        } catch (IOException e) {
            return false;
        }
    }

    private static boolean backingMatches(LoopDevice loop) {
        return backingFile(loop.number()).map(b -> b.equals(loop.backing())).orElse(false);
    }

    private static int flags(int fd, Path dev) {
        byte[] info = new byte[LoopInfoDescriptor.LENGTH];
        int errno = ioctl(fd, LOOP_GET_STATUS64, info);
        if (errno != 0) {
            throw new BallastException(ErrorCode.IO_ERROR, "LOOP_GET_STATUS64 on " + dev + " failed: " + describe(errno));
        }
        return ByteBuffer.wrap(info).order(ByteOrder.nativeOrder()).getInt(LoopInfoDescriptor.FLAGS_OFFSET);
    }

    private static long size(int fd, Path dev) {
        byte[] out = new byte[8];
        int errno = ioctl(fd, BLKGETSIZE64, out);
        if (errno != 0) {
            throw new BallastException(ErrorCode.IO_ERROR, "BLKGETSIZE64 on " + dev + " failed: " + describe(errno));
        }
        return ByteBuffer.wrap(out).order(ByteOrder.nativeOrder()).getLong(0);
    }

    /** {@code /dev/loopN}, created (mknod) when no udev made it: containers often lack udev. */
    private static Path deviceNode(int n) {
        Path dev = Path.of("/dev/loop" + n);
        if (!Files.exists(dev)) {
            long devT = ((long) LOOP_MAJOR << 8) | (n & 0xff) | ((long) (n & ~0xff) << 12);
            if (Libc.C.mknod(dev.toString(), S_IFBLK | 0660, devT) != 0 && !Files.exists(dev)) {
                throw new BallastException(ErrorCode.IO_ERROR, "mknod " + dev + " failed: " + describe(Libc.errno()));
            }
        }
        return dev;
    }

    private static int open(Path path, int mode) {
        int fd = Libc.C.open(path.toString(), mode | O_CLOEXEC, 0);
        if (fd < 0) {
            throw new BallastException(ErrorCode.IO_ERROR, "open " + path + " failed: " + describe(Libc.errno()));
        }
        return fd;
    }

    private static int ioctl(int fd, long request, long arg) {
        return Libc.errnoOf(() -> Libc.C.ioctl(fd, request, arg));
    }

    private static int ioctl(int fd, long request, byte[] arg) {
        return Libc.errnoOf(() -> Libc.C.ioctl(fd, request, arg));
    }

    private static String describe(int errno) {
        return Libc.describe(errno);
    }
}
