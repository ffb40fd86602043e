package io.ballast.engine.fuse;

import static io.ballast.engine.sys.Errno.EFBIG;
import static io.ballast.engine.sys.Errno.EINVAL;
import static io.ballast.engine.sys.Errno.EIO;
import static io.ballast.engine.sys.Errno.EISDIR;
import static io.ballast.engine.sys.Errno.ENOENT;
import static io.ballast.engine.sys.Errno.ENOSYS;
import static io.ballast.engine.sys.Errno.ENOTDIR;
import static io.ballast.engine.sys.Errno.EOPNOTSUPP;
import static io.ballast.engine.sys.Errno.EPROTO;

import static io.ballast.engine.fuse.FuseConstants.*;

import io.ballast.engine.volume.BlockVolume;
import java.util.concurrent.CompletableFuture;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Answers FUSE requests for a filesystem of one directory (the root) holding one regular file whose
 * bytes are the {@link BlockVolume}'s: READ/WRITE go to the volume at the same offsets, FSYNC and
 * FLUSH to {@link BlockVolume#flush()}, FALLOCATE (the loop driver's DISCARD and WRITE_ZEROES) to
 * {@link BlockVolume#writeZeroes}. Anything else a filesystem could do gets ENOSYS.
 *
 * <p><b>Durability.</b> A WRITE is answered when the volume completed it; FSYNC (which the loop
 * driver sends for a block-layer FLUSH, and for FUA writes after them) is answered only when
 * the volume's flush completed, so an acknowledged fsync on the device means every earlier
 * acknowledged write is durable in the volume.
 *
 * <p><b>Threading.</b> {@link #handle} runs on the session's reader thread and never blocks:
 * metadata requests are answered there, data requests when the volume's future completes (on the
 * volume's thread), in any order. The file's size is read from the volume on every GETATTR.
 */
final class VolumeFileOps {
    private static final Logger log = LoggerFactory.getLogger(VolumeFileOps.class);

    /** How replies leave; implemented by the session. Each request is passed to exactly one of these. */
    interface Replies {
        void reply(FuseBuffer buffer, int length);

        void noReply(FuseBuffer buffer);
    }

    private final BlockVolume volume;
    private final FuseExportConfig config;
    private final FuseCounters counters;
    private final CompletableFuture<FuseConnectionInfo> initialized = new CompletableFuture<>();
    private final int uid;
    private final int gid;
    private final long createdSeconds;
    private final FuseReplies.Dirent[] rootEntries;

    VolumeFileOps(BlockVolume volume, FuseExportConfig config, FuseCounters counters, int uid, int gid, long nowMillis) {
        this.volume = volume;
        this.config = config;
        this.counters = counters;
        this.uid = uid;
        this.gid = gid;
        this.createdSeconds = nowMillis / 1000;
        this.rootEntries = new FuseReplies.Dirent[] {new FuseReplies.Dirent(ROOT_ID, DT_DIR, "."),
            new FuseReplies.Dirent(ROOT_ID, DT_DIR, ".."), new FuseReplies.Dirent(FILE_ID, DT_REG, config.fileName())};
    }

    /** Completes with the negotiated limits after INIT, or fails when the kernel's protocol is refused. */
    CompletableFuture<FuseConnectionInfo> initialized() {
        return initialized;
    }

    void handle(FuseRequest request, FuseBuffer buf, Replies out) {
        var b = buf.bytes;
        switch (request) {
            case FuseRequest.Init i -> out.reply(buf, init(i, buf));
            case FuseRequest.Lookup l -> {
                if (l.nodeId() == ROOT_ID && l.name().equals(config.fileName())) {
                    long entryValid = 3600L * 1_000_000_000L; // the name never changes
                    out.reply(buf, FuseReplies.entry(b, l.unique(), fileAttr(), entryValid, config.attrTimeout().toNanos()));
                } else {
                    out.reply(buf, FuseReplies.error(b, l.unique(), l.nodeId() == ROOT_ID ? ENOENT : ENOTDIR));
                }
            }
            case FuseRequest.GetAttr g -> {
                FileAttr attr = g.nodeId() == ROOT_ID ? rootAttr() : g.nodeId() == FILE_ID ? fileAttr() : null;
                out.reply(buf, attr == null ? FuseReplies.error(b, g.unique(), ENOENT)
                        : FuseReplies.attr(b, g.unique(), attr, config.attrTimeout().toNanos()));
            }
            case FuseRequest.Open o -> out.reply(buf, open(o, buf));
            case FuseRequest.Read r -> read(r, buf, out);
            case FuseRequest.Write w -> write(w, buf, out);
            case FuseRequest.Sync s -> {
                if (s.nodeId() != FILE_ID) {
                    out.reply(buf, FuseReplies.empty(b, s.unique()));
                } else {
                    counters.syncs.increment();
                    run(s, buf, out, volume::flush, () -> FuseReplies.empty(b, s.unique()));
                }
            }
            case FuseRequest.Release r -> out.reply(buf, FuseReplies.empty(b, r.unique()));
            case FuseRequest.StatFs s -> out.reply(buf, FuseReplies.statfs(b, s.unique(),
                    volume.size() / volume.blockSize(), volume.blockSize(), 2));
            case FuseRequest.ReadDir d -> out.reply(buf, d.nodeId() != ROOT_ID ? FuseReplies.error(b, d.unique(), ENOTDIR)
                    : FuseReplies.readdir(b, d.unique(), rootEntries, d.offset(),
                            Math.min(d.size(), buf.capacity() - OutHeaderDescriptor.LENGTH)));
            case FuseRequest.Fallocate f -> fallocate(f, buf, out);
            case FuseRequest.Forget f -> out.noReply(buf); // our two inodes live as long as the mount
            case FuseRequest.Interrupt i -> {
                // The volume cannot cancel a started request; the target is answered when it completes.
                log.debug("FUSE {}: kernel interrupted request {}", volume.name(), i.target());
                out.noReply(buf);
            }
            case FuseRequest.Destroy d -> out.reply(buf, FuseReplies.empty(b, d.unique()));
            case FuseRequest.Unsupported u -> {
                log.debug("FUSE {}: {} not supported, replying ENOSYS", volume.name(), opcodeName(u.opcode()));
                out.reply(buf, FuseReplies.error(b, u.unique(), ENOSYS));
            }
            case FuseRequest.Malformed m -> {
                counters.errors.increment();
                log.warn("FUSE {}: malformed {}: {}", volume.name(), opcodeName(m.opcode()), m.reason());
                if (m.unique() != 0) {
                    out.reply(buf, FuseReplies.error(b, m.unique(), EIO));
                } else {
                    out.noReply(buf);
                }
            }
        }
    }

    private int init(FuseRequest.Init i, FuseBuffer buf) {
        if (i.major() != KERNEL_VERSION || i.minor() < MIN_KERNEL_MINOR_VERSION) {
            String why = "kernel speaks FUSE " + i.major() + "." + i.minor() + "; this export needs 7."
                    + MIN_KERNEL_MINOR_VERSION + " or later with major 7";
            initialized.completeExceptionally(new IllegalStateException(why));
            return FuseReplies.error(buf.bytes, i.unique(), EPROTO);
        }
        int wanted = INIT_ASYNC_READ | INIT_BIG_WRITES | INIT_ASYNC_DIO | INIT_MAX_PAGES | INIT_PARALLEL_DIROPS;
        int flags = wanted & (int) i.flags();
        int maxPages = config.maxWrite() / 4096;
        int readahead = Math.min(i.maxReadahead(), config.maxWrite());
        int background = config.maxInFlight();
        var out = new FuseReplies.InitOut(Math.min(i.minor(), KERNEL_MINOR_VERSION), readahead, flags, background,
                Math.max(1, background * 3 / 4), config.maxWrite(), maxPages);
        initialized.complete(new FuseConnectionInfo(i.major(), i.minor(), out.minor(), i.flags(), flags,
                config.maxWrite(), maxPages, readahead, background));
        return FuseReplies.init(buf.bytes, i.unique(), out);
    }

    private int open(FuseRequest.Open o, FuseBuffer buf) {
        long expected = o.directory() ? ROOT_ID : FILE_ID;
        if (o.nodeId() != expected) {
            return FuseReplies.error(buf.bytes, o.unique(), o.directory() ? ENOTDIR : EISDIR);
        }
        int openFlags = 0;
        if (!o.directory() && config.directIo()) {
            openFlags = FOPEN_DIRECT_IO | FOPEN_PARALLEL_DIRECT_WRITES;
        }
        return FuseReplies.open(buf.bytes, o.unique(), o.directory() ? 0 : 1, openFlags);
    }

    private void read(FuseRequest.Read r, FuseBuffer buf, Replies out) {
        if (r.nodeId() != FILE_ID) {
            out.reply(buf, FuseReplies.error(buf.bytes, r.unique(), EISDIR));
            return;
        }
        long size = volume.size();
        if (r.offset() < 0) {
            out.reply(buf, FuseReplies.error(buf.bytes, r.unique(), EINVAL));
            return;
        }
        // A file's end: reads stop at the size (a short reply means end of file to the kernel).
        int length = (int) Math.max(0, Math.min(r.size(), size - r.offset()));
        if (length > buf.capacity() - FuseReplies.READ_DATA_OFFSET) {
            // Never answer short inside the file: the kernel would take it for end of file and a
            // loop device would read zeroes. A READ larger than max_read means our limits are wrong.
            counters.errors.increment();
            log.error("FUSE {}: READ of {} bytes exceeds the negotiated maximum {}", volume.name(), r.size(),
                    config.maxWrite());
            out.reply(buf, FuseReplies.error(buf.bytes, r.unique(), EIO));
            return;
        }
        if (length == 0) {
            out.reply(buf, FuseReplies.read(buf.bytes, r.unique(), 0));
            return;
        }
        run(r, buf, out, () -> volume.read(r.offset(), buf.slice(FuseReplies.READ_DATA_OFFSET, length)), () -> {
            counters.read(length);
            return FuseReplies.read(buf.bytes, r.unique(), length);
        });
    }

    private void write(FuseRequest.Write w, FuseBuffer buf, Replies out) {
        if (w.nodeId() != FILE_ID) {
            out.reply(buf, FuseReplies.error(buf.bytes, w.unique(), EISDIR));
            return;
        }
        if (w.size() == 0) {
            out.reply(buf, FuseReplies.write(buf.bytes, w.unique(), 0));
            return;
        }
        run(w, buf, out, () -> volume.write(w.offset(), buf.slice(w.dataOffset(), w.size()), false), () -> {
            counters.written(w.size());
            return FuseReplies.write(buf.bytes, w.unique(), w.size());
        });
    }

    private void fallocate(FuseRequest.Fallocate f, FuseBuffer buf, Replies out) {
        int mode = f.mode();
        boolean punch = mode == (FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE);
        boolean zero = (mode & ~FALLOC_FL_KEEP_SIZE) == FALLOC_FL_ZERO_RANGE;
        if (f.nodeId() != FILE_ID || !(punch || zero)) {
            // Plain allocation cannot be promised by a sparse, replicated volume; growing is resize's job.
            out.reply(buf, FuseReplies.error(buf.bytes, f.unique(), f.nodeId() != FILE_ID ? EISDIR : EOPNOTSUPP));
            return;
        }
        long size = volume.size();
        if (f.offset() < 0 || f.length() <= 0) {
            out.reply(buf, FuseReplies.error(buf.bytes, f.unique(), EINVAL));
            return;
        }
        if ((mode & FALLOC_FL_KEEP_SIZE) == 0 && f.length() > size - f.offset()) {
            out.reply(buf, FuseReplies.error(buf.bytes, f.unique(), EFBIG)); // would grow the file
            return;
        }
        long length = Math.max(0, Math.min(f.length(), size - f.offset())); // beyond the end is already "zero"
        if (length == 0) {
            out.reply(buf, FuseReplies.empty(buf.bytes, f.unique()));
            return;
        }
        // PUNCH_HOLE must read back as zeroes (not merely "may be discarded", as NBD TRIM), so it is
        // writeZeroes allowed to free space; ZERO_RANGE keeps the space allocated.
        run(f, buf, out, () -> volume.writeZeroes(f.offset(), length, punch, false),
                () -> FuseReplies.empty(buf.bytes, f.unique()));
    }

    /** Starts {@code op} on the volume; replies with {@code success}'s encoding or the mapped errno. */
    private void run(FuseRequest r, FuseBuffer buf, Replies out, Supplier<CompletableFuture<Void>> op,
                     Supplier<Integer> success) {
        CompletableFuture<Void> f;
        try {
            f = op.get();
        } catch (RuntimeException e) {
            f = CompletableFuture.failedFuture(e); // a synchronous throw must still answer the kernel
        }
        f.whenComplete((ignored, failure) -> {
            if (failure == null) {
                out.reply(buf, success.get());
            } else {
                int errno = FuseErrors.errnoOf(failure, r.opcode());
                counters.errors.increment();
                log.warn("FUSE {}: {} failed with errno {}: {}", volume.name(), r, errno, failure.toString());
                out.reply(buf, FuseReplies.error(buf.bytes, r.unique(), errno));
            }
        });
    }

    private FileAttr fileAttr() {
        return new FileAttr(FILE_ID, volume.size(), S_IFREG | 0600, 1, uid, gid, volume.blockSize(), createdSeconds, 0);
    }

    private FileAttr rootAttr() {
        return new FileAttr(ROOT_ID, 0, S_IFDIR | 0755, 2, uid, gid, volume.blockSize(), createdSeconds, 0);
    }
}
