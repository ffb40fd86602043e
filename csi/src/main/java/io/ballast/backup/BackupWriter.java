package io.ballast.backup;

import com.google.protobuf.ByteString;
import io.ballast.engine.crypt.KeyHeaderLayout;
import io.ballast.engine.error.BallastException;
import io.ballast.engine.error.ErrorCode;
import io.ballast.engine.store.SnapshotReader;
import io.ballast.proto.v1.BackupManifest;
import io.ballast.replication.rebuild.RatePacer;
import java.nio.ByteBuffer;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Deque;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Writes one backup of a local snapshot: the snapshot chunk by chunk, each chunk either
 * <ul>
 *   <li>taken over from the base backup without reading it, when the base's snapshot is still
 *       here and the checksum slots of every block in the chunk equal (the volume's blocks did not
 *       change there; a CRC32C collision on every changed block of a chunk would be missed, about
 *       one chunk in four billion changed ones),</li>
 *   <li>recorded as zero without reading, when the snapshot file has a hole there,</li>
 *   <li>else read (checksums verified), hashed, and uploaded unless an object of that hash is
 *       already in the bucket (so a backup run again after an interruption uploads only what is
 *       missing, and equal chunks of any backups are stored once).</li>
 * </ul>
 * The manifest goes up last. While it runs, deletes sweep no chunk ({@link SweepGuard}): it relies
 * on chunks it did not upload. Memory: a few chunks ({@link Pipeline}). Threading: called on one
 * thread, which reads; workers of its own hash and upload.
 */
public final class BackupWriter {
    private static final Logger LOG = LoggerFactory.getLogger(BackupWriter.class);
    public static final int DEFAULT_CHUNK = 1 << 20;
    /** Chunks hashed, compressed and uploaded at once. */
    static final int PARALLEL = 4;
    private static final int B = 4096;

    private final BackupRepository repository;
    private final RatePacer pacer;
    private final BackupProgressListener progress;

    public BackupWriter(BackupRepository repository, long bytesPerSecond, BackupProgressListener progress) {
        this(repository, new RatePacer(bytesPerSecond), progress);
    }

    /** With a pacer of the caller's: every byte uploaded is taken from it first. */
    public BackupWriter(BackupRepository repository, RatePacer pacer, BackupProgressListener progress) {
        this.repository = repository;
        this.pacer = pacer;
        this.progress = progress;
    }

    /**
     * Backs {@code snapshot} up as {@code backupId}; {@code base} and {@code baseSnapshot} (both
     * or neither; the snapshot may be null when it is gone from this node) make it incremental.
     */
    public BackupManifest write(String backupId, String volume, SnapshotReader snapshot, int chunkBytes,
            BackupManifest base, SnapshotReader baseSnapshot, long nowMillis) throws InterruptedException {
        BackupRepository.checkId(backupId);
        repository.beginBackup(backupId);
        if (base != null && repository.get(base.getBackupId()).isEmpty()) {
            // Deleted before this backup announced itself: a sweep may have taken its chunks.
            LOG.info("backup {}: its base {} was deleted meanwhile; this backup is full", backupId, base.getBackupId());
            base = null;
            baseSnapshot = null;
        }
        int chunk = base != null ? base.getChunkBytes() : chunkBytes == 0 ? DEFAULT_CHUNK : chunkBytes;
        if (Integer.bitCount(chunk) != 1 || chunk < (64 << 10) || chunk > (16 << 20)) {
            throw new BallastException(ErrorCode.INVALID_ARGUMENT, "chunk size " + chunk + ": a power of two from 64 KiB to 16 MiB");
        }
        long size = snapshot.size();
        long chunks = (size + chunk - 1) / chunk;
        BackupManifest.Builder m = BackupManifest.newBuilder().setFormat(1).setBackupId(backupId).setVolume(volume)
                .setSnapshotId(snapshot.info().id()).setSizeBytes(size).setChunkBytes(chunk).setCreatedMillis(nowMillis)
                .setBaseBackupId(base == null ? "" : base.getBackupId()).setEncrypted(encrypted(snapshot));
        long read = 0;
        long renewed = System.nanoTime();
        Pipeline pipeline = new Pipeline();
        try {
            for (long i = 0; i < chunks; i++) {
                long off = i * chunk;
                int len = (int) Math.min(chunk, size - off);
                if (unchanged(i, off, len, snapshot, base, baseSnapshot)) {
                    pipeline.done(base.getChunks((int) i), off + len);
                } else if (hole(snapshot, off, len)) {
                    pipeline.done(ByteString.EMPTY, off + len);
                } else {
                    ByteBuffer buf = ByteBuffer.allocate(len); // read here, in order; hashed and sent by the workers
                    snapshot.read(off, buf);
                    read += len;
                    pipeline.submit(buf.flip(), off + len);
                }
                for (ByteString sha : pipeline.finished(size)) {
                    m.addChunks(sha);
                }
                if (Thread.interrupted()) {
                    throw new InterruptedException("backup " + backupId + " stopped at byte " + (off + len));
                }
                if (System.nanoTime() - renewed > SweepGuard.RENEW.toNanos()) {
                    repository.renewBackup(backupId);
                    renewed = System.nanoTime();
                }
            }
            for (ByteString sha : pipeline.drain(size)) {
                m.addChunks(sha);
            }
        } finally {
            pipeline.close();
        }
        BackupManifest done = m.setUploadedBytes(pipeline.uploaded.get()).setReadBytes(read).build();
        repository.finish(done);
        return done;
    }

    /**
     * Chunks in flight: hashing, compressing and uploading run on {@value #PARALLEL} workers (the
     * upload's network wait overlaps the next chunk's CPU work) while the snapshot is read in order
     * on the caller's thread; results come back in volume order. At most {@value #PARALLEL} chunks
     * wait or run beyond the one being read: memory stays bounded.
     */
    private final class Pipeline implements AutoCloseable {
        private final ExecutorService workers = Executors.newFixedThreadPool(PARALLEL, Thread.ofPlatform()
                .name("backup-upload-", 0).daemon().factory());
        private final Deque<Pending> queue = new ArrayDeque<>();
        private final AtomicLong uploaded = new AtomicLong();

        private record Pending(Future<ByteString> sha, long doneBytes) {}

        void done(ByteString sha, long doneBytes) {
            queue.add(new Pending(java.util.concurrent.CompletableFuture.completedFuture(sha), doneBytes));
        }

        /** Queues a chunk for the workers; {@link #finished} waits for the oldest once too many are queued. */
        void submit(ByteBuffer data, long doneBytes) {
            queue.add(new Pending(workers.submit(() -> store(data)), doneBytes));
        }

        /** The chunks finished at the head of the queue, in order. */
        List<ByteString> finished(long size) throws InterruptedException {
            List<ByteString> out = new ArrayList<>();
            while (!queue.isEmpty() && (queue.peekFirst().sha().isDone() || queue.size() > PARALLEL)) {
                Pending p = queue.pollFirst();
                out.add(await(p));
                progress.progress(p.doneBytes(), size, uploaded.get());
            }
            return out;
        }

        List<ByteString> drain(long size) throws InterruptedException {
            List<ByteString> out = new ArrayList<>();
            while (!queue.isEmpty()) {
                Pending p = queue.pollFirst();
                out.add(await(p));
                progress.progress(p.doneBytes(), size, uploaded.get());
            }
            return out;
        }

        private ByteString await(Pending p) throws InterruptedException {
            try {
                return p.sha().get();
            } catch (ExecutionException e) {
                throw BallastException.of(e.getCause());
            }
        }

        private ByteString store(ByteBuffer data) throws InterruptedException {
            if (allZero(data)) {
                return ByteString.EMPTY;
            }
            byte[] sha = ChunkCodec.sha256(data);
            String name = ChunkCodec.name(sha);
            if (!repository.bucket().exists(name)) {
                byte[] stored = ChunkCodec.encode(data, sha);
                pacer.take(stored.length);
                repository.bucket().put(name, stored);
                uploaded.addAndGet(stored.length);
            }
            return ByteString.copyFrom(sha);
        }

        @Override
        public void close() {
            workers.shutdownNow();
        }
    }

    private static boolean unchanged(long i, long off, int len, SnapshotReader snapshot, BackupManifest base,
            SnapshotReader baseSnapshot) {
        if (base == null || baseSnapshot == null || i >= base.getChunksCount() || off + len > baseSnapshot.size()) {
            return false;
        }
        int blocks = (len + B - 1) / B;
        return Arrays.equals(snapshot.checksumSlots(off / B, blocks), baseSnapshot.checksumSlots(off / B, blocks));
    }

    private static boolean hole(SnapshotReader snapshot, long off, int len) {
        long data = snapshot.nextData(off);
        return data < 0 || data >= off + len;
    }

    /** An encrypted volume starts with its key header (its chunks are ciphertext). */
    private static boolean encrypted(SnapshotReader snapshot) {
        if (snapshot.size() < KeyHeaderLayout.HEADER_BYTES) {
            return false;
        }
        ByteBuffer first = ByteBuffer.allocate(KeyHeaderLayout.HEADER_BYTES);
        snapshot.read(0, first);
        return KeyHeaderLayout.hasMagic(first.flip());
    }

    static boolean allZero(ByteBuffer b) {
        ByteBuffer d = b.duplicate();
        while (d.remaining() >= 8) {
            if (d.getLong() != 0) {
                return false;
            }
        }
        while (d.hasRemaining()) {
            if (d.get() != 0) {
                return false;
            }
        }
        return true;
    }
}
