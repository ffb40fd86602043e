package io.ballast.engine.attach;

import io.ballast.engine.error.BallastException;
import io.ballast.engine.error.ErrorCode;
import io.ballast.engine.fuse.FuseExport;
import io.ballast.engine.fuse.FuseConnectionInfo;
import io.ballast.engine.fuse.FuseExportConfig;
import io.ballast.engine.keeper.FdKeeperClient;
import io.ballast.engine.keeper.ProcessFds;
import io.ballast.engine.volume.BlockVolume;
import java.nio.file.Path;
import java.util.Objects;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Attaches a volume as {@code /dev/loopN} over a FUSE file: {@link FuseExport} mounts
 * {@code runDir/<volume>/} serving the file {@code volume}, then {@link LoopDevices} binds a free loop
 * device to it with the volume's block size as logical block size, with direct I/O when the kernel
 * accepts it for the file (preferred: no second page cache, and the loop driver then sends many
 * asynchronous requests at once).
 *
 * <p>Durability: a FLUSH on the loop device becomes fsync on the FUSE file, which the export answers
 * only after {@link BlockVolume#flush()} completed.
 *
 * <p><b>Restarts.</b> This process serves the file. With a descriptor keeper ({@link FdKeeperClient})
 * each export's /dev/fuse descriptor is also held by the keeper process, so when this process dies
 * the kernel keeps the mount, the loop device and everything above waiting rather than failing
 * them; the next process's {@link #attach} of the volume takes the connection back from the keeper
 * ({@link FuseExport#resume}: the kernel resends what was left unanswered) and finds the loop device
 * still bound. Without a keeper a dead process's device fails its I/O (EIO) until staged again.
 *
 * <p>Thread-safe; see {@link DeviceAttacher} for the error contract.
 */
public final class FuseLoopAttacher implements DeviceAttacher {
    private static final Logger log = LoggerFactory.getLogger(FuseLoopAttacher.class);

    private final Path runDir;
    private final FuseExportConfig fuseConfig;
    private final boolean directIo;
    private final long detachTimeoutMillis;
    private final FdKeeperClient keeper;

    /**
     * @param runDir     where FUSE mount points are made, one directory per volume (e.g. /run/ballast/fuse)
     * @param fuseConfig settings of each export
     * @param directIo   ask the loop driver for direct I/O (it falls back to buffered when refused)
     * @param keeper     holds the exports' connections across restarts of this process; null: none
     */
    public FuseLoopAttacher(Path runDir, FuseExportConfig fuseConfig, boolean directIo, FdKeeperClient keeper) {
        this.runDir = Objects.requireNonNull(runDir, "runDir").toAbsolutePath().normalize();
        this.fuseConfig = Objects.requireNonNull(fuseConfig, "fuseConfig");
        this.directIo = directIo;
        this.detachTimeoutMillis = fuseConfig.closeTimeout().toMillis();
        this.keeper = keeper;
    }

    public FuseLoopAttacher(Path runDir, FuseExportConfig fuseConfig, boolean directIo) {
        this(runDir, fuseConfig, directIo, null);
    }

    public FuseLoopAttacher(Path runDir) {
        this(runDir, FuseExportConfig.defaults(), true, null);
    }

    @Override
    public String kind() {
        return "fuse-loop";
    }

    @Override
    public AttachedDevice attach(BlockVolume volume) {
        String name = volume.name();
        if (name.isEmpty() || name.contains("/") || name.equals(".") || name.equals("..") || name.indexOf('\0') >= 0) {
            throw new BallastException(ErrorCode.INVALID_ARGUMENT, "volume name '" + name + "' cannot name a directory");
        }
        Path mountpoint = runDir.resolve(name);
        Optional<AttachedDevice> resumed = resume(volume, mountpoint);
        if (resumed.isPresent()) {
            return resumed.get();
        }
        FuseExport.clearLeftover(mountpoint);
        FuseExport export = FuseExport.start(volume, mountpoint, fuseConfig);
        LoopDevice loop;
        try {
            loop = LoopDevices.attach(export.file(), volume.blockSize(), directIo);
        } catch (RuntimeException e) {
            try {
                export.close();
            } catch (RuntimeException suppressed) {
                e.addSuppressed(suppressed);
            }
            throw e;
        }
        if (directIo && !loop.directIo()) {
            log.warn("{}: the kernel refused direct I/O on the FUSE file; the loop device is buffered", loop.device());
        }
        FuseLoopDevice device = new FuseLoopDevice(export, loop, detachTimeoutMillis, keep(export) ? keeper : null);
        log.info("attached {}", device.describe());
        return device;
    }

    /** Has the keeper hold the export's connection; false (logged) when there is none or it refuses. */
    private boolean keep(FuseExport export) {
        if (keeper == null) {
            return false;
        }
        if (!export.connection().kernelResends()) {
            log.warn("{}: this kernel cannot resend FUSE requests (needs Linux 6.9): I/O in flight when the node "
                    + "dies would never complete, so its connection is not kept across restarts", export.volume().name());
            return false;
        }
        try {
            keeper.keep(export.volume().name(), export.deviceFd(), export.connection().encode());
            return true;
        } catch (BallastException e) {
            log.warn("{}: the descriptor keeper does not hold its FUSE connection, so a restart of this node fails "
                    + "the device's I/O: {}", export.volume().name(), e.getMessage());
            return false;
        }
    }

    /** Takes over the connection an earlier process left with the keeper, if it is still mounted. */
    private Optional<AttachedDevice> resume(BlockVolume volume, Path mountpoint) {
        if (keeper == null) {
            return Optional.empty();
        }
        String name = volume.name();
        Optional<FdKeeperClient.Kept> kept;
        try {
            kept = keeper.take(name);
        } catch (BallastException e) {
            log.warn("{}: cannot take its FUSE connection back from the descriptor keeper: {}", name, e.getMessage());
            return Optional.empty();
        }
        if (kept.isEmpty()) {
            return Optional.empty();
        }
        FuseConnectionInfo info;
        try {
            info = FuseConnectionInfo.decode(kept.get().note());
        } catch (IllegalArgumentException e) {
            info = null;
        }
        if (info == null || !FuseExport.isMounted(mountpoint)) {
            log.warn("{}: the descriptor keeper held a FUSE connection but {}; dropping it", name,
                    info == null ? "without its parameters" : mountpoint + " is no longer mounted");
            ProcessFds.close(kept.get().fd());
            keeper.drop(name);
            return Optional.empty();
        }
        FuseExport export = FuseExport.resume(volume, mountpoint, fuseConfig, kept.get().fd(), info);
        Optional<LoopDevice> bound;
        LoopDevice loop;
        try {
            bound = LoopDevices.boundTo(export.file());
            loop = bound.isPresent() ? bound.get() : LoopDevices.attach(export.file(), volume.blockSize(), directIo);
        } catch (RuntimeException e) {
            export.abandon(); // stop serving: the keeper still holds the connection for the next attempt
            throw e;
        }
        FuseLoopDevice device = new FuseLoopDevice(export, loop, detachTimeoutMillis, keeper);
        log.info("took over {}{}", device.describe(), bound.isPresent() ? "" : " (its loop device was gone: bound anew)");
        return Optional.of(device);
    }

    /** A loop device over a FUSE export; closing detaches the loop device, then unmounts the export. */
    static final class FuseLoopDevice implements AttachedDevice {
        private final FuseExport export;
        private final LoopDevice loop;
        private final long detachTimeoutMillis;
        private final FdKeeperClient keeper;
        private boolean closed;

        /** @param keeper the keeper holding the export's connection, or null */
        FuseLoopDevice(FuseExport export, LoopDevice loop, long detachTimeoutMillis, FdKeeperClient keeper) {
            this.export = export;
            this.loop = loop;
            this.detachTimeoutMillis = detachTimeoutMillis;
            this.keeper = keeper;
        }

        @Override
        public boolean outlivesProcess() {
            return keeper != null && export.serving();
        }

        @Override
        public void leave() {
            if (outlivesProcess()) {
                export.abandon();
            }
        }

        @Override
        public Path device() {
            return loop.device();
        }

        @Override
        public String volumeName() {
            return export.volume().name();
        }

        @Override
        public boolean directIo() {
            return loop.directIo();
        }

        /** The FUSE export underneath (its file, negotiated limits, counters). */
        FuseExport export() {
            return export;
        }

        LoopDevice loop() {
            return loop;
        }

        @Override
        public long sizeBytes() {
            return LoopDevices.sizeBytes(loop.device());
        }

        @Override
        public synchronized long refreshCapacity() {
            long want = export.volume().size();
            // The loop driver takes the size from the FUSE inode's cached i_size: make the kernel drop
            // the cached attributes, then stat the file so it fetches the new size, then re-read it.
            export.sizeChanged();
            try {
                long seen = java.nio.file.Files.size(export.file());
                if (seen != want) {
                    throw new BallastException(ErrorCode.INTERNAL, export.file() + " shows " + seen
                            + " bytes after the size notification, the volume has " + want);
                }
            } catch (java.io.IOException e) {
                throw new BallastException(ErrorCode.IO_ERROR, "stat " + export.file() + " failed: " + e, e);
            }
            long size = LoopDevices.setCapacity(loop);
            log.info("{}: capacity refreshed to {} bytes", loop.device(), size);
            return size;
        }

        @Override
        public String describe() {
            return loop.device() + " over FUSE file " + export.file() + " (volume " + volumeName() + ", "
                    + (loop.directIo() ? "direct I/O" : "buffered") + ", block size " + loop.blockSize()
                    + (keeper != null ? ", connection kept across restarts" : "") + ")";
        }

        @Override
        public synchronized void close() {
            if (closed) {
                return;
            }
            LoopDevices.detach(loop, detachTimeoutMillis);
            export.close();
            if (keeper != null) {
                keeper.drop(volumeName());
            }
            closed = true;
            log.info("detached {}", describe());
        }

        @Override
        public String toString() {
            return describe();
        }
    }
}
