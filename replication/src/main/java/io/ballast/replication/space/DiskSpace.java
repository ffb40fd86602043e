package io.ballast.replication.space;

import java.io.IOException;
import java.nio.file.FileStore;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The fill level of this node's data disk, polled every {@link #POLL_MILLIS}: the fullest of the
 * filesystems holding its directories ({@code raft/} with the Raft logs and entry journals,
 * {@code volumes/} with the stores; an admin may mount them apart). A poll rather than a statfs per
 * write: one call a second is free, and a second is small against the room the full ratio leaves.
 *
 * <p>Threading: one daemon poller; readers see the last poll (volatile). A directory that cannot
 * be inspected counts as empty (logged once): unknown is not a reason to refuse writes.
 */
public final class DiskSpace implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(DiskSpace.class);
    static final long POLL_MILLIS = 1000;

    /** One poll's result: the fullest filesystem. */
    public record Reading(DiskLevel level, double usedRatio, long freeBytes, long totalBytes, Path where) {
        /** "93% used (12 MiB free) at DIR" */
        public String describe() {
            return String.format(Locale.ROOT, "%.0f%% used (%d MiB free) at %s", usedRatio * 100, freeBytes >> 20, where);
        }
    }

    private final List<Path> dirs;
    private final DiskWatermarks watermarks;
    private final ScheduledExecutorService poller = Executors.newSingleThreadScheduledExecutor(
            Thread.ofPlatform().daemon().name("disk-space").factory());
    private volatile Reading last;
    private boolean failing;

    public DiskSpace(List<Path> dirs, DiskWatermarks watermarks) {
        this.dirs = List.copyOf(dirs);
        this.watermarks = watermarks;
        this.last = new Reading(DiskLevel.NORMAL, 0, 0, 0, dirs.get(0)); // until a poll succeeds: no room to promise
    }

    public DiskSpace start() {
        poll();
        poller.scheduleWithFixedDelay(this::poll, POLL_MILLIS, POLL_MILLIS, TimeUnit.MILLISECONDS);
        return this;
    }

    public DiskWatermarks watermarks() {
        return watermarks;
    }

    /** The last poll. */
    public Reading reading() {
        return last;
    }

    /** Polls now (also the poller's job). */
    public synchronized Reading poll() {
        Reading worst = null;
        for (Path dir : dirs) {
            try {
                FileStore fs = Files.getFileStore(existing(dir));
                long total = fs.getTotalSpace();
                long free = fs.getUsableSpace();
                double used = total <= 0 ? 0 : 1.0 - (double) free / total;
                if (worst == null || used > worst.usedRatio()) {
                    worst = new Reading(watermarks.level(used), used, free, total, dir);
                }
                failing = false;
            } catch (IOException | RuntimeException e) {
                if (!failing) {
                    LOG.warn("cannot read the free space of {}: {}", dir, e.toString());
                    failing = true;
                }
            }
        }
        if (worst == null) {
            return last;
        }
        Reading previous = last;
        last = worst;
        if (previous.level() != worst.level()) {
            switch (worst.level()) {
                case FULL -> LOG.warn("data disk full: {}, above the full ratio {}: volumes needing this node refuse writes "
                        + "until space is freed", worst.describe(), watermarks.full());
                case NEARFULL -> LOG.warn("data disk nearly full: {}, above the nearfull ratio {}", worst.describe(),
                        watermarks.nearfull());
                case NORMAL -> LOG.info("data disk back below the nearfull ratio: {}", worst.describe());
            }
        }
        return worst;
    }

    /** The directory, or its nearest existing parent (Ratis makes {@code raft/} with its first group). */
    private static Path existing(Path dir) {
        Path p = dir.toAbsolutePath();
        while (p.getParent() != null && !Files.exists(p)) {
            p = p.getParent();
        }
        return p;
    }

    @Override
    public void close() {
        poller.shutdownNow();
    }
}
