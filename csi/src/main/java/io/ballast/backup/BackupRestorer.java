package io.ballast.backup;

import com.google.protobuf.ByteString;
import io.ballast.engine.error.BallastException;
import io.ballast.engine.error.ErrorCode;
import io.ballast.engine.volume.BlockVolume;
import io.ballast.proto.v1.BackupManifest;
import io.ballast.replication.rebuild.RatePacer;
import java.nio.ByteBuffer;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Writes a backup into a volume, chunk by chunk: a stored chunk is downloaded, checked (header,
 * decompression, SHA-256: {@link ChunkCodec}) and written; a zero chunk is written as zeroes (the
 * volume may hold other data from an interrupted restore). Every {@value #CHECKPOINT_CHUNKS} chunks
 * and at the end the volume is flushed and the next chunk index handed to {@code checkpoint}, so a
 * restore run again resumes there. A damaged or missing chunk fails it, naming the chunk and the
 * volume bytes it holds; nothing after it is written. {@value #PARALLEL} chunks are downloaded and
 * checked ahead by workers and as many writes are in flight: memory stays at a few chunks.
 * Threading: called on one thread.
 */
public final class BackupRestorer {
    static final int CHECKPOINT_CHUNKS = 64;
    /** Chunks downloaded ahead, and writes in flight. */
    static final int PARALLEL = 4;
    private static final long IO_TIMEOUT_SECONDS = 300;

    /** Where a restore got to: the index of the first chunk not yet written and flushed. */
    @FunctionalInterface
    public interface Checkpoint {
        void reached(int nextChunk);
    }

    private final BackupRepository repository;
    private final RatePacer pacer;
    private final BackupProgressListener progress;

    public BackupRestorer(BackupRepository repository, long bytesPerSecond, BackupProgressListener progress) {
        this(repository, new RatePacer(bytesPerSecond), progress);
    }

    /** With a pacer of the caller's: every byte downloaded is taken from it first. */
    public BackupRestorer(BackupRepository repository, RatePacer pacer, BackupProgressListener progress) {
        this.repository = repository;
        this.pacer = pacer;
        this.progress = progress;
    }

    public void restore(BackupManifest m, BlockVolume volume, int fromChunk, Checkpoint checkpoint) throws InterruptedException {
        if (volume.size() < m.getSizeBytes()) {
            throw new BallastException(ErrorCode.OUT_OF_RANGE, "volume " + volume.name() + " has " + volume.size()
                    + " bytes; backup " + m.getBackupId() + " needs " + m.getSizeBytes());
        }
        int chunk = m.getChunkBytes();
        AtomicLong downloaded = new AtomicLong();
        ExecutorService workers = Executors.newFixedThreadPool(PARALLEL, Thread.ofPlatform().name("restore-download-", 0)
                .daemon().factory());
        Deque<Future<byte[]>> ahead = new ArrayDeque<>(); // chunks downloaded and checked ahead of the writes
        List<CompletableFuture<Void>> writes = new ArrayList<>();
        int next = fromChunk; // the next chunk to queue for download
        try {
            for (int i = fromChunk; i < m.getChunksCount(); i++) {
                while (next < m.getChunksCount() && next < i + PARALLEL) {
                    int n = next++;
                    ahead.add(workers.submit(() -> fetch(m, n, downloaded)));
                }
                long off = (long) i * chunk;
                int len = (int) Math.min(chunk, m.getSizeBytes() - off);
                byte[] data = take(ahead.pollFirst());
                writes.add(data == null ? volume.writeZeroes(off, len, true, false) : volume.write(off, ByteBuffer.wrap(data), false));
                if (writes.size() >= PARALLEL) {
                    await(writes.remove(0), volume, off);
                }
                if ((i + 1) % CHECKPOINT_CHUNKS == 0 || i + 1 == m.getChunksCount()) {
                    for (CompletableFuture<Void> w : writes) {
                        await(w, volume, off);
                    }
                    writes.clear();
                    await(volume.flush(), volume, off);
                    checkpoint.reached(i + 1);
                }
                progress.progress(off + len, m.getSizeBytes(), downloaded.get());
                if (Thread.interrupted()) {
                    throw new InterruptedException("restore of " + m.getBackupId() + " stopped at byte " + (off + len));
                }
            }
        } finally {
            workers.shutdownNow();
        }
    }

    /** Chunk {@code i}'s bytes, downloaded and checked; null for a zero chunk. */
    private byte[] fetch(BackupManifest m, int i, AtomicLong downloaded) throws InterruptedException {
        ByteString sha = m.getChunks(i);
        if (sha.isEmpty()) {
            return null;
        }
        long off = (long) i * m.getChunkBytes();
        int len = (int) Math.min(m.getChunkBytes(), m.getSizeBytes() - off);
        String what = "chunk " + i + " (volume bytes " + off + " to " + (off + len) + ", " + ChunkCodec.name(sha.toByteArray())
                + ") of backup " + m.getBackupId();
        byte[] stored = repository.bucket().get(ChunkCodec.name(sha.toByteArray())).orElseThrow(() ->
                new BallastException(ErrorCode.CORRUPTION, what + " is missing from " + repository.bucket().describe()));
        pacer.take(stored.length);
        downloaded.addAndGet(stored.length);
        byte[] data = ChunkCodec.decode(stored, sha.toByteArray(), what);
        if (data.length != len) {
            throw new BallastException(ErrorCode.CORRUPTION, what + " holds " + data.length + " bytes, not " + len);
        }
        return data;
    }

    private static byte[] take(Future<byte[]> f) throws InterruptedException {
        try {
            return f.get();
        } catch (ExecutionException e) {
            throw BallastException.of(e.getCause());
        }
    }

    private static void await(CompletableFuture<Void> f, BlockVolume v, long off) throws InterruptedException {
        try {
            f.get(IO_TIMEOUT_SECONDS, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            throw e;
        } catch (Exception e) {
            BallastException b = BallastException.of(e);
            throw new BallastException(b.code(), "restore into " + v.name() + " at byte " + off + ": " + b.getMessage(), b);
        }
    }
}
