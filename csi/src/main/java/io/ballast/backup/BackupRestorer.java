package io.ballast.backup;

import com.google.protobuf.ByteString;
import io.ballast.engine.error.BallastException;
import io.ballast.engine.error.ErrorCode;
import io.ballast.engine.volume.BlockVolume;
import io.ballast.proto.v1.BackupManifest;
import io.ballast.replication.rebuild.RatePacer;
import java.nio.ByteBuffer;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * Writes a backup into a volume, chunk by chunk: a stored chunk is downloaded, checked (header,
 * decompression, SHA-256: {@link ChunkCodec}) and written; a zero chunk is written as zeroes (the
 * volume may hold other data from an interrupted restore). Every {@value #CHECKPOINT_CHUNKS} chunks
 * and at the end the volume is flushed and the next chunk index handed to {@code checkpoint}, so a
 * restore run again resumes there. A damaged or missing chunk fails it, naming the chunk and the
 * volume bytes it holds; nothing after it is written. Memory: one chunk. Threading: one thread.
 */
public final class BackupRestorer {
    static final int CHECKPOINT_CHUNKS = 64;
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
        this.repository = repository;
        this.pacer = new RatePacer(bytesPerSecond);
        this.progress = progress;
    }

    public void restore(BackupManifest m, BlockVolume volume, int fromChunk, Checkpoint checkpoint) throws InterruptedException {
        if (volume.size() < m.getSizeBytes()) {
            throw new BallastException(ErrorCode.OUT_OF_RANGE, "volume " + volume.name() + " has " + volume.size()
                    + " bytes; backup " + m.getBackupId() + " needs " + m.getSizeBytes());
        }
        long downloaded = 0;
        int chunk = m.getChunkBytes();
        for (int i = fromChunk; i < m.getChunksCount(); i++) {
            long off = (long) i * chunk;
            int len = (int) Math.min(chunk, m.getSizeBytes() - off);
            ByteString sha = m.getChunks(i);
            if (sha.isEmpty()) {
                await(volume.writeZeroes(off, len, true, false), volume, off);
            } else {
                String what = "chunk " + i + " (volume bytes " + off + " to " + (off + len) + ", " + ChunkCodec.name(sha.toByteArray())
                        + ") of backup " + m.getBackupId();
                byte[] stored = repository.bucket().get(ChunkCodec.name(sha.toByteArray())).orElseThrow(() ->
                        new BallastException(ErrorCode.CORRUPTION, what + " is missing from " + repository.bucket().describe()));
                pacer.take(stored.length);
                downloaded += stored.length;
                byte[] data = ChunkCodec.decode(stored, sha.toByteArray(), what);
                if (data.length != len) {
                    throw new BallastException(ErrorCode.CORRUPTION, what + " holds " + data.length + " bytes, not " + len);
                }
                await(volume.write(off, ByteBuffer.wrap(data), false), volume, off);
            }
            if ((i + 1) % CHECKPOINT_CHUNKS == 0 || i + 1 == m.getChunksCount()) {
                await(volume.flush(), volume, off);
                checkpoint.reached(i + 1);
            }
            progress.progress(off + len, m.getSizeBytes(), downloaded);
            if (Thread.interrupted()) {
                throw new InterruptedException("restore of " + m.getBackupId() + " stopped at byte " + (off + len));
            }
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
