package io.ballast.engine.attach;

import io.ballast.engine.error.BallastException;
import io.ballast.engine.error.ErrorCode;
import io.ballast.engine.fuse.FuseExport;
import io.ballast.engine.fuse.FuseExportConfig;
import io.ballast.engine.volume.BlockVolume;
import java.nio.file.Path;
import java.util.Objects;
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
 * <p>Limits: this process serves the file; if it exits, the device fails its I/O (the mount above
 * sees EIO) until re-attached. Thread-safe; see {@link DeviceAttacher} for the error contract.
 */
public final class FuseLoopAttacher implements DeviceAttacher {
    private static final Logger log = LoggerFactory.getLogger(FuseLoopAttacher.class);

    private final Path runDir;
    private final FuseExportConfig fuseConfig;
    private final boolean directIo;
    private final long detachTimeoutMillis;

    /**
     * @param runDir     where FUSE mount points are made, one directory per volume (e.g. /run/ballast/fuse)
     * @param fuseConfig settings of each export
     * @param directIo   ask the loop driver for direct I/O (it falls back to buffered when refused)
     */
    public FuseLoopAttacher(Path runDir, FuseExportConfig fuseConfig, boolean directIo) {
        this.runDir = Objects.requireNonNull(runDir, "runDir").toAbsolutePath().normalize();
        this.fuseConfig = Objects.requireNonNull(fuseConfig, "fuseConfig");
        this.directIo = directIo;
        this.detachTimeoutMillis = fuseConfig.closeTimeout().toMillis();
    }

    public FuseLoopAttacher(Path runDir) {
        this(runDir, FuseExportConfig.defaults(), true);
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
        FuseExport export = FuseExport.start(volume, runDir.resolve(name), fuseConfig);
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
        FuseLoopDevice device = new FuseLoopDevice(export, loop, detachTimeoutMillis);
        log.info("attached {}", device.describe());
        return device;
    }

    /** A loop device over a FUSE export; closing detaches the loop device, then unmounts the export. */
    static final class FuseLoopDevice implements AttachedDevice {
        private final FuseExport export;
        private final LoopDevice loop;
        private final long detachTimeoutMillis;
        private boolean closed;

        FuseLoopDevice(FuseExport export, LoopDevice loop, long detachTimeoutMillis) {
            this.export = export;
            this.loop = loop;
            this.detachTimeoutMillis = detachTimeoutMillis;
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
                    + (loop.directIo() ? "direct I/O" : "buffered") + ", block size " + loop.blockSize() + ")";
        }

        @Override
        public synchronized void close() {
            if (closed) {
                return;
            }
            LoopDevices.detach(loop, detachTimeoutMillis);
            export.close();
            closed = true;
            log.info("detached {}", describe());
        }

        @Override
        public String toString() {
            return describe();
        }
    }
}
