package io.ballast.engine.store;

import io.ballast.engine.error.BallastException;
import io.ballast.engine.error.ErrorCode;
import io.ballast.engine.store.SnapshotMetaLayout.Meta;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Replica-local snapshots of a node's volumes: point-in-time copies of a volume's files under the
 * node directory, readable as a checksum-verifying read-only store ({@link SnapshotReader}).
 *
 * <pre>
 *  &lt;dir&gt;/snapshots/
 *    &lt;volume&gt;/
 *      &lt;id&gt;/
 *        snapshot.meta   SnapshotMetaLayout: size, tag, created, COMPLETE flag (atomic replace)
 *        data            the volume's data file at the snapshot (sparse, or a reflink)
 *        checksums       its checksum file (ChecksumFileLayout), agreeing with data
 *      .trash-&lt;id&gt;-&lt;n&gt;/   a snapshot being deleted (removed on open)
 *    .trash-&lt;volume&gt;-&lt;n&gt;/  every snapshot of a deleted volume (removed on open)
 * </pre>
 *
 * <p><b>Crash safety.</b> {@link #take} writes {@code snapshot.meta} without COMPLETE before
 * copying anything, copies and fsyncs the files, then replaces the record with a COMPLETE one. A
 * crash in between leaves a snapshot listed as incomplete, which is never opened and is redone by
 * the next {@link #take} of the same id (or deleted). The copy is as cheap as the filesystem allows
 * ({@link FileCloner}: reflink, else a sparse copy).
 *
 * <p><b>Threading.</b> Thread-safe; operations on one volume's snapshots are serialised (a take of
 * one volume does not block another volume's). Errors: {@link BallastException} INVALID_ARGUMENT
 * for a bad id, NOT_FOUND, ALREADY_EXISTS, FAILED_PRECONDITION for an incomplete snapshot,
 * IO_ERROR / NO_SPACE / CORRUPTION from the disk.
 */
public final class VolumeSnapshots {
    static final String SNAPSHOTS_DIR = "snapshots";
    private static final String TRASH_PREFIX = ".trash-";
    /** A copy being received from another node ({@link #receive}); removed on open when a crash left it. */
    private static final String RECEIVING_PREFIX = ".receiving-";
    private static final Logger log = LoggerFactory.getLogger(VolumeSnapshots.class);

    private final Path root;
    private final Map<String, Object> locks = new ConcurrentHashMap<>();

    /** A snapshot as found on disk; {@code complete} false: interrupted copy, never served. */
    public record SnapshotInfo(String volume, String id, long sizeBytes, long tag, long createdMillis, boolean complete) {}

    /** How {@link #take} copied: "reflink" or "sparse copy", the data bytes copied, the time it took. */
    public record Taken(SnapshotInfo snapshot, boolean alreadyComplete, String method, long dataBytesCopied, long nanos) {}

    VolumeSnapshots(Path nodeDir) {
        this.root = nodeDir.resolve(SNAPSHOTS_DIR);
    }

    /** Creates the snapshots directory and removes deletions a crash interrupted. */
    void prepare() throws IOException {
        if (!Files.isDirectory(root)) {
            Files.createDirectories(root);
            Durable.fsyncDirectory(root.getParent());
        }
        try (Stream<Path> vols = Files.list(root)) {
            for (Path v : vols.toList()) {
                if (v.getFileName().toString().startsWith(TRASH_PREFIX)) {
                    deleteTree(v);
                    continue;
                }
                try (Stream<Path> snaps = Files.list(v)) {
                    for (Path s : snaps.toList()) {
                        if (s.getFileName().toString().startsWith(TRASH_PREFIX)) {
                            log.info("removing leftover {} from an interrupted snapshot delete", s);
                            deleteTree(s);
                        } else if (s.getFileName().toString().startsWith(RECEIVING_PREFIX)) {
                            log.info("removing leftover {} from an interrupted snapshot copy from a peer", s);
                            deleteTree(s);
                        }
                    }
                }
            }
        }
    }

    /**
     * Takes snapshot {@code id} of {@code store} (the volume named by the store) with the caller's
     * {@code tag}: returns once the copy is complete and durable. Every request to the store waits
     * while its files are copied. Idempotent: a complete snapshot with this id and tag is returned as
     * it is ({@code alreadyComplete}); an incomplete one (interrupted copy) is discarded and taken
     * again. ALREADY_EXISTS when a complete snapshot with this id has another tag.
     */
    public Taken take(LocalBlockStore store, String id, long tag, long createdMillis) {
        String volume = store.name();
        checkId(id);
        synchronized (lock(volume)) {
            Path dir = snapshotDir(volume, id);
            Optional<SnapshotInfo> existing = read(volume, id);
            if (existing.isPresent() && existing.get().complete()) {
                if (existing.get().tag() != tag) {
                    throw new BallastException(ErrorCode.ALREADY_EXISTS, "snapshot " + id + " of volume " + volume
                            + " already exists (taken at " + existing.get().tag() + ", not " + tag + ")");
                }
                return new Taken(existing.get(), true, "none", 0, 0);
            }
            long t0 = System.nanoTime();
            try {
                if (Files.exists(dir)) {
                    log.warn("snapshot {} of volume {} is incomplete (interrupted copy): taking it again", id, volume);
                    deleteTree(dir);
                }
                Files.createDirectories(dir);
                Durable.fsyncDirectory(dir.getParent());
                Durable.fsyncDirectory(root);
                Meta meta = new Meta(store.size(), tag, createdMillis, false);
                Durable.writeAtomically(dir.resolve(SnapshotMetaLayout.FILE_NAME), SnapshotMetaLayout.encode(meta));
                LocalBlockStore.CopiedVolume copied = store.copyTo(dir);
                Durable.fsyncDirectory(dir);
                Meta done = new Meta(copied.sizeBytes(), tag, createdMillis, true);
                Durable.writeAtomically(dir.resolve(SnapshotMetaLayout.FILE_NAME), SnapshotMetaLayout.encode(done));
                long nanos = System.nanoTime() - t0;
                String method = copied.data().method() == FileCloner.Method.REFLINK ? "reflink" : "sparse copy";
                long bytes = copied.data().dataBytes() + copied.checksums().dataBytes();
                log.info("snapshot {} of volume {} taken ({} bytes, {}: {} data bytes copied in {} ms)", id, volume,
                        copied.sizeBytes(), method, bytes, nanos / 1_000_000);
                return new Taken(info(volume, id, done), false, method, bytes, nanos);
            } catch (IOException e) {
                throw Durable.ioError("snapshot " + id + " of volume " + volume + " in " + dir, e);
            }
        }
    }

    /**
     * Starts receiving a copy of snapshot {@code id} (taken elsewhere with {@code tag}) into a staging
     * directory of its own: nothing is locked meanwhile, and nothing lists the copy until {@link #install}.
     */
    public SnapshotReceiver receive(String volume, String id, long sizeBytes, long tag, long createdMillis) {
        checkId(id);
        Path staging = snapshotDir(volume, id).resolveSibling(RECEIVING_PREFIX + id + "-" + System.nanoTime());
        return SnapshotReceiver.create(staging, new SnapshotInfo(volume, id, sizeBytes, tag, createdMillis, false));
    }

    /**
     * Makes a received copy snapshot {@code id} of this node, complete and durable: the staging
     * directory gets its COMPLETE record and is renamed into place. A complete snapshot already there
     * with the same tag wins (the copy is dropped); an incomplete one is replaced; ALREADY_EXISTS for a
     * complete one with another tag. The receiver is closed either way.
     */
    public SnapshotInfo install(SnapshotReceiver received) {
        SnapshotInfo t = received.target();
        try (received) {
            received.finish();
            synchronized (lock(t.volume())) {
                Optional<SnapshotInfo> existing = read(t.volume(), t.id());
                if (existing.isPresent() && existing.get().complete()) {
                    if (existing.get().tag() != t.tag()) {
                        throw new BallastException(ErrorCode.ALREADY_EXISTS, "snapshot " + t.id() + " of volume " + t.volume()
                                + " already exists here (taken at " + existing.get().tag() + ", not " + t.tag() + ")");
                    }
                    return existing.get();
                }
                Path dir = snapshotDir(t.volume(), t.id());
                if (existing.isPresent()) {
                    deleteTree(dir);
                }
                Meta done = new Meta(t.sizeBytes(), t.tag(), t.createdMillis(), true);
                Durable.writeAtomically(received.staging().resolve(SnapshotMetaLayout.FILE_NAME), SnapshotMetaLayout.encode(done));
                Files.move(received.staging(), dir, StandardCopyOption.ATOMIC_MOVE);
                received.installed();
                Durable.fsyncDirectory(dir.getParent());
                log.info("snapshot {} of volume {} copied here from a peer ({} bytes)", t.id(), t.volume(), t.sizeBytes());
                return info(t.volume(), t.id(), done);
            }
        } catch (IOException e) {
            throw Durable.ioError("install snapshot " + t.id() + " of volume " + t.volume(), e);
        }
    }

    /**
     * Rewrites block {@code block} of the complete snapshot {@code id} (taken at {@code tag}) with
     * {@code good}, a copy another replica's reader vouched for, and its checksum slot; durable on
     * return. A snapshot never changes, so the copy is right whatever was written to the volume
     * since. NOT_FOUND when this node holds no complete copy at that tag.
     */
    public void repairBlock(String volume, String id, long tag, long block, ByteBuffer good) {
        checkId(id);
        if (good.remaining() != LocalBlockStore.BLOCK_SIZE) {
            throw new BallastException(ErrorCode.INVALID_ARGUMENT, "a repair writes one block, not " + good.remaining() + " bytes");
        }
        synchronized (lock(volume)) {
            SnapshotInfo s = read(volume, id).filter(i -> i.complete() && i.tag() == tag).orElseThrow(() ->
                    new BallastException(ErrorCode.NOT_FOUND, "no complete copy of snapshot " + id + " of volume " + volume
                            + " at index " + tag + " on this node"));
            if (block < 0 || (block + 1) * LocalBlockStore.BLOCK_SIZE > s.sizeBytes()) {
                throw new BallastException(ErrorCode.OUT_OF_RANGE, "block " + block + " is outside snapshot " + id);
            }
            Path dir = snapshotDir(volume, id);
            try (var data = java.nio.channels.FileChannel.open(VolumeFiles.data(dir), java.nio.file.StandardOpenOption.WRITE);
                    var sums = java.nio.channels.FileChannel.open(VolumeFiles.checksums(dir), java.nio.file.StandardOpenOption.WRITE)) {
                SnapshotReceiver.writeBlocks(data, sums, block * LocalBlockStore.BLOCK_SIZE, good);
                data.force(false);
                sums.force(false);
            } catch (IOException e) {
                throw Durable.ioError("repair block " + block + " of snapshot " + id + " of volume " + volume, e);
            }
        }
    }

    /** The snapshot, complete or not; empty when absent. */
    public Optional<SnapshotInfo> get(String volume, String id) {
        checkId(id);
        synchronized (lock(volume)) {
            return read(volume, id);
        }
    }

    /** Every snapshot of the volume on this node (complete or not), ordered by id. */
    public List<SnapshotInfo> list(String volume) {
        checkVolume(volume);
        synchronized (lock(volume)) {
            Path vdir = root.resolve(volume);
            if (!Files.isDirectory(vdir)) {
                return List.of();
            }
            List<SnapshotInfo> out = new ArrayList<>();
            try (Stream<Path> s = Files.list(vdir)) {
                for (Path p : s.sorted().toList()) {
                    String id = p.getFileName().toString();
                    if (Files.isDirectory(p) && NodeDirectory.VOLUME_NAME.matcher(id).matches()) {
                        read(volume, id).ifPresent(out::add);
                    }
                }
            } catch (IOException e) {
                throw Durable.ioError("list " + vdir, e);
            }
            return out;
        }
    }

    /** Opens a complete snapshot read-only. NOT_FOUND when absent, FAILED_PRECONDITION when incomplete. */
    public SnapshotReader open(String volume, String id) {
        SnapshotInfo s = get(volume, id).orElseThrow(() -> new BallastException(ErrorCode.NOT_FOUND,
                "snapshot " + id + " of volume " + volume + " is not on this node"));
        if (!s.complete()) {
            throw new BallastException(ErrorCode.FAILED_PRECONDITION, "snapshot " + id + " of volume " + volume
                    + " on this node is incomplete (its copy was interrupted); it cannot be read");
        }
        return SnapshotReader.open(snapshotDir(volume, id), s);
    }

    /** Deletes a snapshot; absent is fine (idempotent). Readers already open keep their files. */
    public void delete(String volume, String id) {
        checkId(id);
        synchronized (lock(volume)) {
            Path dir = snapshotDir(volume, id);
            if (!Files.exists(dir)) {
                return;
            }
            moveAndDelete(dir, dir.resolveSibling(TRASH_PREFIX + id + "-" + System.nanoTime()));
            log.info("snapshot {} of volume {} deleted", id, volume);
        }
    }

    /** Deletes every snapshot of the volume (the volume is being deleted). Idempotent. */
    public void deleteAll(String volume) {
        checkVolume(volume);
        synchronized (lock(volume)) {
            Path vdir = root.resolve(volume);
            if (Files.exists(vdir)) {
                moveAndDelete(vdir, root.resolve(TRASH_PREFIX + volume + "-" + System.nanoTime()));
                log.info("every snapshot of volume {} deleted", volume);
            }
        }
    }

    private void moveAndDelete(Path dir, Path trash) {
        try {
            Files.move(dir, trash, StandardCopyOption.ATOMIC_MOVE);
            Durable.fsyncDirectory(trash.getParent());
            deleteTree(trash);
        } catch (IOException e) {
            throw Durable.ioError("delete " + dir, e);
        }
    }

    private Optional<SnapshotInfo> read(String volume, String id) {
        Path dir = snapshotDir(volume, id);
        if (!Files.isDirectory(dir)) {
            return Optional.empty();
        }
        Path metaFile = dir.resolve(SnapshotMetaLayout.FILE_NAME);
        if (!Files.isRegularFile(metaFile)) { // crashed before the first record: nothing to say but "incomplete"
            return Optional.of(new SnapshotInfo(volume, id, 0, -1, 0, false));
        }
        try {
            return Optional.of(info(volume, id, SnapshotMetaLayout.decode(
                    Durable.readAll(metaFile, SnapshotMetaLayout.LENGTH), metaFile)));
        } catch (BallastException e) {
            if (e.code() == ErrorCode.IO_ERROR) {
                throw e;
            }
            log.warn("snapshot {} of volume {}: unreadable record ({}); treated as incomplete", id, volume, e.getMessage());
            return Optional.of(new SnapshotInfo(volume, id, 0, -1, 0, false));
        }
    }

    private static SnapshotInfo info(String volume, String id, Meta m) {
        return new SnapshotInfo(volume, id, m.sizeBytes(), m.tag(), m.createdMillis(), m.complete());
    }

    private Path snapshotDir(String volume, String id) {
        checkVolume(volume);
        return root.resolve(volume).resolve(id);
    }

    private Object lock(String volume) {
        return locks.computeIfAbsent(volume, v -> new Object());
    }

    /** Snapshot ids follow the volume-name rule: 1-128 of [a-zA-Z0-9._-], starting with a letter or digit. */
    public static void checkId(String id) {
        if (id == null || !NodeDirectory.VOLUME_NAME.matcher(id).matches()) {
            throw new BallastException(ErrorCode.INVALID_ARGUMENT, "snapshot id '" + id
                    + "' is invalid: use 1-128 characters [a-zA-Z0-9._-], starting with a letter or digit");
        }
    }

    private static void checkVolume(String volume) {
        if (volume == null || !NodeDirectory.VOLUME_NAME.matcher(volume).matches()) {
            throw new BallastException(ErrorCode.INVALID_ARGUMENT, "volume name '" + volume
                    + "' is invalid: use 1-128 characters [a-zA-Z0-9._-], starting with a letter or digit");
        }
    }

    static void deleteTree(Path root) throws IOException {
        if (!Files.exists(root)) {
            return;
        }
        try (Stream<Path> s = Files.walk(root)) {
            for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }
}
