package io.ballast.engine.fuse;

import io.ballast.engine.sys.Errno;

import io.ballast.engine.error.BallastException;
import io.ballast.engine.error.ErrorCode;
import io.ballast.engine.volume.BlockVolume;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Objects;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A {@link BlockVolume} served as one regular file, {@code mountpoint/fileName}, through a FUSE
 * mount that this process serves itself over /dev/fuse (no libfuse). The file's size is the
 * volume's; its bytes are the volume's. A loop device on that file makes the volume a kernel block
 * device (the attach package's FuseLoopAttacher).
 *
 * <p><b>Lifecycle.</b> {@link #start} mounts and returns once the kernel completed FUSE_INIT.
 * {@link #close()} unmounts and returns once the connection is over; it refuses (FAILED_PRECONDITION,
 * export left running) while the file is still open, e.g. by a loop device: stopping then would
 * fail the I/O of everything above it. If this process dies, the kernel aborts the connection:
 * users of the file get errors (ENOTCONN/EIO), never a hang, and the dead mount stays until unmounted;
 * unless another process holds a copy of {@link #deviceFd()} (the descriptor keeper): then the kernel
 * queues the requests until a new process takes the connection over with {@link #resume}.
 *
 * <p><b>Threading.</b> Thread-safe. One platform thread per export reads requests; replies are
 * written from the volume's completion threads. The volume is not closed by this class.
 *
 * <p><b>Errors.</b> {@link BallastException}: FAILED_PRECONDITION without /dev/fuse or privileges,
 * IO_ERROR when mount(2) fails, UNAVAILABLE when the kernel does not complete INIT in time.
 */
public final class FuseExport implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(FuseExport.class);
    /** Shown as the filesystem type in /proc/mounts: {@code fuse.ballast}. */
    public static final String FS_TYPE = "fuse.ballast";

    private final BlockVolume volume;
    private final Path mountpoint;
    private final FuseExportConfig config;
    private final FuseSession session;
    private final FuseCounters counters;
    private final FuseConnectionInfo connection;
    private boolean closed;

    private FuseExport(BlockVolume volume, Path mountpoint, FuseExportConfig config, FuseSession session,
                       FuseCounters counters, FuseConnectionInfo connection) {
        this.volume = volume;
        this.mountpoint = mountpoint;
        this.config = config;
        this.session = session;
        this.counters = counters;
        this.connection = connection;
    }

    /**
     * Mounts a FUSE filesystem at {@code mountpoint} (created if absent; must be empty and not a
     * mount point) serving {@code volume} as the file {@link #file()}. Blocks until INIT completes.
     */
    public static FuseExport start(BlockVolume volume, Path mountpoint, FuseExportConfig config) {
        Objects.requireNonNull(volume, "volume");
        Objects.requireNonNull(config, "config");
        Path mp = mountpoint.toAbsolutePath().normalize();
        try {
            Files.createDirectories(mp);
        } catch (IOException e) {
            throw new BallastException(ErrorCode.IO_ERROR, "cannot create FUSE mount point " + mp + ": " + e, e);
        }
        FuseDevice device = FuseDevice.open(config.device());
        FuseCounters counters = new FuseCounters();
        int uid = FuseDevice.uid();
        int gid = FuseDevice.gid();
        VolumeFileOps ops = new VolumeFileOps(volume, config, counters, uid, gid, System.currentTimeMillis());
        FuseSession session = new FuseSession(volume, device, ops, counters, config);
        // allow_other: the kubelet, mkfs and mount run as other processes (root, but possibly in
        // other user namespaces); default_permissions: the kernel checks the file's mode bits.
        String options = "fd=" + device.fd() + ",rootmode=40000,user_id=" + uid + ",group_id=" + gid
                + ",allow_other,default_permissions,max_read=" + config.maxWrite();
        try {
            device.mount("ballast:" + volume.name(), mp, FS_TYPE,
                    FuseDevice.MS_NOSUID | FuseDevice.MS_NODEV | FuseDevice.MS_NOEXEC, options);
        } catch (RuntimeException e) {
            device.close();
            throw e;
        }
        session.start();
        FuseConnectionInfo info;
        try {
            info = ops.initialized().get(config.initTimeout().toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException | ExecutionException | TimeoutException e) {
            if (e instanceof InterruptedException) {
                Thread.currentThread().interrupt();
            }
            abandon(mp, session);
            throw new BallastException(ErrorCode.UNAVAILABLE, "FUSE mount " + mp + " for volume " + volume.name()
                    + " did not complete INIT: " + (e.getCause() != null ? e.getCause().getMessage() : e.toString()), e);
        }
        log.info("FUSE export of {} at {}: kernel FUSE {}.{}, answered 7.{}, max_write {}, max_pages {}, async DIO {}",
                volume.name(), mp.resolve(config.fileName()), info.kernelMajor(), info.kernelMinor(), info.minor(),
                info.maxWrite(), info.maxPages(), info.asyncDirectIo());
        return new FuseExport(volume, mp, config, session, counters, info);
    }

    /**
     * Serves a connection that an earlier process of this node mounted at {@code mountpoint} and
     * that a descriptor keeper held while nobody served it ({@code fd}: this process's copy, which
     * the export now owns). No mount and no INIT: the kernel did those with the earlier process,
     * whose answers are {@code info}. The kernel is asked to resend the requests the earlier process
     * had read but not answered; the writes among them are simply done again (same bytes, same
     * offsets), and nothing acknowledged is lost: an acknowledgement left only after the volume had it.
     */
    public static FuseExport resume(BlockVolume volume, Path mountpoint, FuseExportConfig config, int fd,
                                    FuseConnectionInfo info) {
        Objects.requireNonNull(volume, "volume");
        Path mp = mountpoint.toAbsolutePath().normalize();
        FuseDevice device = FuseDevice.adopt(fd);
        FuseCounters counters = new FuseCounters();
        VolumeFileOps ops = new VolumeFileOps(volume, config, counters, FuseDevice.uid(), FuseDevice.gid(),
                System.currentTimeMillis());
        FuseSession session = new FuseSession(volume, device, ops, counters, config);
        session.start();
        boolean resent = session.notifyResend();
        if (!resent && !info.kernelResends()) {
            log.warn("FUSE export of {} at {}: the kernel cannot resend requests (needs Linux 6.9); any that the "
                    + "earlier process had read stay unanswered", volume.name(), mp);
        }
        log.info("FUSE export of {} at {} taken over from an earlier process{}", volume.name(), mp,
                resent ? "; the kernel resends what it left unanswered" : "");
        return new FuseExport(volume, mp, config, session, counters, info);
    }

    /**
     * Stops serving without ending the connection, for a process that is stopping while a
     * descriptor keeper holds the connection: requests wait for the successor's {@link #resume}.
     * Never call it without a keeper: the requests would wait for ever.
     */
    public void abandon() {
        session.abandon();
        log.info("FUSE export of {} at {} left for the next process (the descriptor keeper holds it)", volume.name(), mountpoint);
    }

    /** True when {@code mountpoint} is a FUSE mount of ours ({@value #FS_TYPE}) in this mount namespace. */
    public static boolean isMounted(Path mountpoint) {
        String mp = mountpoint.toAbsolutePath().normalize().toString();
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/mountinfo"))) {
                // id parent major:minor root mountpoint options... - fstype source superoptions
                String[] f = line.split(" ");
                int dash = line.indexOf(" - ");
                if (f.length > 4 && dash > 0 && unescape(f[4]).equals(mp)
                        && line.substring(dash + 3).startsWith(FS_TYPE + " ")) {
                    return true;
                }
            }
            return false;
        } catch (IOException e) {
            throw new BallastException(ErrorCode.IO_ERROR, "cannot read /proc/self/mountinfo: " + e, e);
        }
    }

    /** Detaches a mount of ours left at {@code mountpoint} by a process that is gone (lazily: it may be busy). */
    public static void clearLeftover(Path mountpoint) {
        if (isMounted(mountpoint)) {
            int errno = FuseDevice.unmount(mountpoint, FuseDevice.MNT_DETACH);
            log.warn("removed the leftover FUSE mount {} of an earlier process{}", mountpoint,
                    errno == 0 ? "" : ": " + FuseDevice.describe(errno));
        }
    }

    /** mountinfo escapes space, tab, newline and backslash as octal. */
    private static String unescape(String s) {
        StringBuilder b = new StringBuilder(s.length());
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '\\' && i + 3 < s.length()) {
                b.append((char) Integer.parseInt(s.substring(i + 1, i + 4), 8));
                i += 3;
            } else {
                b.append(c);
            }
        }
        return b.toString();
    }

    private static void abandon(Path mp, FuseSession session) {
        FuseDevice.unmount(mp, FuseDevice.MNT_DETACH);
        try {
            session.ended().get(5, TimeUnit.SECONDS);
        } catch (Exception e) {
            log.warn("FUSE mount {} did not end after a failed start: {}", mp, e.toString());
        }
    }

    /** The file that holds the volume's bytes. */
    public Path file() {
        return mountpoint.resolve(config.fileName());
    }

    public Path mountpoint() {
        return mountpoint;
    }

    public BlockVolume volume() {
        return volume;
    }

    /** The /dev/fuse descriptor served, for a descriptor keeper to hold a copy of. */
    public int deviceFd() {
        return session.deviceFd();
    }

    /** The limits negotiated in FUSE_INIT. */
    public FuseConnectionInfo connection() {
        return connection;
    }

    public FuseStats stats() {
        return counters.snapshot();
    }

    /** True until the connection ended (unmounted, aborted, or this process's reader failed). */
    public boolean serving() {
        return !session.ended().isDone();
    }

    /**
     * Makes the kernel forget the file's cached attributes so the next stat sees the volume's
     * current size (call after the volume grew). Without it the new size shows within
     * {@link FuseExportConfig#attrTimeout()}. Returns false if the connection is over.
     */
    public boolean sizeChanged() {
        return session.notifyInvalInode(FuseConstants.FILE_ID);
    }

    /**
     * Unmounts and waits for the connection to end. Retries while the file is still open (a loop
     * device releases it asynchronously after detach) for {@link FuseExportConfig#closeTimeout()},
     * then fails with FAILED_PRECONDITION and keeps serving. Once unmounted, waits up to another
     * close timeout for the requests still in the volume to finish (a replicated write during a
     * leader change can take seconds); past that UNAVAILABLE, and a retry waits again. Idempotent.
     */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        long deadline = System.nanoTime() + config.closeTimeout().toNanos();
        while (true) {
            // Also when the session already ended (connection aborted): a dead mount stays until unmounted.
            int errno = FuseDevice.unmount(mountpoint, 0);
            if (errno == 0 || errno == Errno.EINVAL || errno == Errno.ENOENT) {
                break; // unmounted now, or already (EINVAL: not a mount point any more)
            }
            if (errno != Errno.EBUSY || System.nanoTime() > deadline) {
                throw new BallastException(errno == Errno.EBUSY ? ErrorCode.FAILED_PRECONDITION : ErrorCode.IO_ERROR,
                        "cannot unmount FUSE export " + mountpoint + " of volume " + volume.name() + ": "
                                + FuseDevice.describe(errno) + (errno == Errno.EBUSY
                                ? "; its file is still open (detach the loop device first)" : ""));
            }
            sleepMillis(20);
        }
        // Its own budget, not what the unmount's retries left of theirs: under load both can take long
        // (NodeServiceIT's unstage after a leader loss failed with the remainder when two suites ran at once).
        try {
            session.ended().get(config.closeTimeout().toMillis(), TimeUnit.MILLISECONDS);
        } catch (TimeoutException e) {
            throw new BallastException(ErrorCode.UNAVAILABLE, "FUSE export " + mountpoint + " is unmounted but requests "
                    + "are still in the volume after " + config.closeTimeout().toSeconds() + " s; retry to wait for them", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new BallastException(ErrorCode.UNAVAILABLE, "interrupted while closing FUSE export " + mountpoint, e);
        } catch (ExecutionException e) {
            throw new IllegalStateException(e); // ended() never fails
        }
        closed = true;
        log.info("FUSE export of {} at {} closed: {}", volume.name(), mountpoint, counters.snapshot());
    }

    private static void sleepMillis(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new BallastException(ErrorCode.UNAVAILABLE, "interrupted", e);
        }
    }

    @Override
    public String toString() {
        return "FuseExport[" + volume.name() + " at " + file() + "]";
    }
}
