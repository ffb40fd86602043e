package io.ballast.engine.fuse;

import io.ballast.engine.sys.Errno;

import io.ballast.engine.volume.BlockVolume;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayDeque;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Serves one mounted FUSE connection: a reader thread reads requests from /dev/fuse into pooled
 * buffers and hands them to {@link VolumeFileOps}; replies are written from whichever thread
 * completes them (the reader for metadata, the volume's threads for data), so many requests are in
 * flight and answered out of order.
 *
 * <p><b>Back-pressure.</b> At most {@code maxInFlight} buffers exist; when all are held by requests
 * in flight, the reader waits for one before reading the next request, and the kernel queues.
 *
 * <p><b>End.</b> The session ends when the kernel ends the connection (read returns ENODEV: after
 * unmount, or an abort) or reading fails. The /dev/fuse descriptor is closed only when the reader
 * has stopped <em>and</em> every request it started has been answered (or found the connection
 * gone), so no write can reach a reused descriptor number. Closing it also aborts a connection
 * the kernel still considers alive, which turns pending I/O into errors rather than hangs.
 * {@link #ended()} completes after that close.
 */
final class FuseSession implements VolumeFileOps.Replies {
    private static final Logger log = LoggerFactory.getLogger(FuseSession.class);

    private final String name;
    private final FuseDevice device;
    private final VolumeFileOps ops;
    private final FuseCounters counters;
    private final int bufferSize;
    private final int maxBuffers;
    private final ArrayDeque<FuseBuffer> free = new ArrayDeque<>();
    private final CompletableFuture<Void> ended = new CompletableFuture<>();
    /** The reader's own hold (1) plus one per request or notification being answered; 0 = closed. */
    private final AtomicInteger holds = new AtomicInteger(1);
    /** Set when this process hands the connection to its successor: see {@link #abandon()}. */
    private volatile boolean abandoned;
    private int allocated;

    FuseSession(BlockVolume volume, FuseDevice device, VolumeFileOps ops, FuseCounters counters, FuseExportConfig config) {
        this.name = volume.name();
        this.device = device;
        this.ops = ops;
        this.counters = counters;
        this.bufferSize = config.bufferSize();
        this.maxBuffers = config.maxInFlight();
    }

    void start() {
        Thread.ofPlatform().name("fuse-" + name).daemon().start(this::readLoop);
    }

    /** The /dev/fuse descriptor served (valid until {@link #ended()}). */
    int deviceFd() {
        return device.fd();
    }

    /** Completes when the connection is over and the descriptor closed; never fails. */
    CompletableFuture<Void> ended() {
        return ended;
    }

    private void readLoop() {
        try {
            while (true) {
                FuseBuffer buf = take();
                int n = device.read(buf.pointer, buf.capacity());
                if (abandoned) {
                    give(buf); // unanswered: the kernel resends it to the process that takes over
                    return;
                }
                if (n < 0) {
                    give(buf);
                    log.info("FUSE {}: connection ended by the kernel", name);
                    return;
                }
                FuseRequest request = FuseRequestDecoder.decode(buf.bytes, n);
                holds.incrementAndGet();
                counters.started();
                try {
                    ops.handle(request, buf, this);
                } catch (RuntimeException e) {
                    // A bug in a handler must not leave the kernel waiting for ever.
                    log.error("FUSE {}: handling {} failed", name, request, e);
                    if (request.unique() != 0) {
                        reply(buf, FuseReplies.error(buf.bytes, request.unique(), Errno.EIO));
                    } else {
                        noReply(buf);
                    }
                }
            }
        } catch (InterruptedException e) {
            log.warn("FUSE {}: reader interrupted; closing the connection", name);
        } catch (RuntimeException e) {
            log.error("FUSE {}: reading /dev/fuse failed; closing the connection", name, e);
        } finally {
            release();
        }
    }

    @Override
    public void reply(FuseBuffer buf, int length) {
        if (abandoned && buf.bytes.getInt(OutHeaderDescriptor.ERROR_OFFSET) != 0) {
            done(buf); // most likely the volume closing under us: leave it for the successor to redo
            return;
        }
        int errno = device.write(buf.pointer, length);
        if (errno != 0) {
            if (errno == Errno.ENOENT || errno == Errno.ENODEV) {
                log.debug("FUSE {}: reply dropped (errno {}): request interrupted or connection gone", name, errno);
            } else {
                counters.errors.increment();
                log.error("FUSE {}: kernel refused a reply of {} bytes: {}", name, length, FuseDevice.describe(errno));
            }
        }
        done(buf);
    }

    @Override
    public void noReply(FuseBuffer buf) {
        done(buf);
    }

    private void done(FuseBuffer buf) {
        counters.finished();
        give(buf);
        release();
    }

    /**
     * Tells the kernel to drop inode {@code ino}'s cached attributes (the next stat asks us again).
     * Returns false when the connection is over. An inode the kernel has not cached is fine (ENOENT).
     */
    boolean notifyInvalInode(long ino) {
        if (!hold()) {
            return false;
        }
        try {
            ByteBuffer b = ByteBuffer.allocateDirect(64).order(ByteOrder.LITTLE_ENDIAN);
            int length = FuseReplies.notifyInvalInodeAttributes(b, ino);
            int errno = device.write(FuseDevice.pointer(b), length);
            if (errno != 0 && errno != Errno.ENOENT) {
                log.warn("FUSE {}: FUSE_NOTIFY_INVAL_INODE refused: {}", name, FuseDevice.describe(errno));
                return errno != Errno.ENODEV;
            }
            return true;
        } finally {
            release();
        }
    }

    /**
     * This process is stopping and a descriptor keeper holds the connection for its successor: from
     * now on no request is taken up and no error is answered (the volume is about to close, which
     * would fail what is in flight). What stays unanswered the kernel resends to the successor
     * ({@link #notifyResend()}); successes still completing are answered, they are real.
     */
    void abandon() {
        abandoned = true;
    }

    /**
     * Tells the kernel to hand out again every request it gave a reader that never answered (the
     * process that served this connection before us died). Returns false when the connection is
     * over or the kernel refused (older than 6.9: those requests then never complete).
     */
    boolean notifyResend() {
        if (!hold()) {
            return false;
        }
        try {
            ByteBuffer b = ByteBuffer.allocateDirect(64).order(ByteOrder.LITTLE_ENDIAN);
            int errno = device.write(FuseDevice.pointer(b), FuseReplies.notifyResend(b));
            if (errno != 0) {
                log.warn("FUSE {}: FUSE_NOTIFY_RESEND refused: {}", name, FuseDevice.describe(errno));
                return false;
            }
            return true;
        } finally {
            release();
        }
    }

    private boolean hold() {
        while (true) {
            int h = holds.get();
            if (h == 0) {
                return false;
            }
            if (holds.compareAndSet(h, h + 1)) {
                return true;
            }
        }
    }

    private void release() {
        if (holds.decrementAndGet() == 0) {
            try {
                device.close();
            } catch (RuntimeException e) {
                log.warn("FUSE {}: {}", name, e.toString());
            }
            synchronized (free) {
                free.clear(); // direct memory goes with the buffers
            }
            ended.complete(null);
        }
    }

    private FuseBuffer take() throws InterruptedException {
        synchronized (free) {
            while (true) {
                FuseBuffer b = free.pollFirst();
                if (b != null) {
                    return b;
                }
                if (allocated < maxBuffers) {
                    allocated++;
                    return new FuseBuffer(bufferSize);
                }
                free.wait();
            }
        }
    }

    private void give(FuseBuffer b) {
        synchronized (free) {
            free.addFirst(b); // most recently used first: its pages are warm
            free.notifyAll();
        }
    }
}
