package io.ballast.backup;

import com.google.protobuf.ByteString;
import com.google.protobuf.InvalidProtocolBufferException;
import io.ballast.engine.error.BallastException;
import io.ballast.engine.error.ErrorCode;
import io.ballast.proto.v1.BackupManifest;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * The backups in one bucket: their manifests, and deletion. Deleting a backup removes its manifest,
 * then sweeps the chunks that no remaining manifest references and that are older than
 * {@link #SWEEP_GRACE} (a backup under way has uploaded chunks before its manifest exists; an hour
 * is far longer than a chunk waits for its manifest in a backup that is still running, and a chunk
 * spared now is swept by a later delete). No chunk is swept while a backup runs: it may rely on
 * chunks it did not upload ({@link SweepGuard}).
 */
public final class BackupRepository {
    public static final Duration SWEEP_GRACE = Duration.ofHours(1);
    private static final String DIR = "backups/";
    private static final String SUFFIX = ".manifest";
    private static final Pattern ID = Pattern.compile("[a-zA-Z0-9][a-zA-Z0-9._-]{0,127}");

    private final BackupBucket bucket;
    private final SweepGuard guard;

    public BackupRepository(BackupBucket bucket) {
        this(bucket, Instant::now);
    }

    /** With a clock of the caller's for how old the bucket's markers are (a test's). */
    BackupRepository(BackupBucket bucket, java.util.function.Supplier<Instant> clock) {
        this.bucket = bucket;
        this.guard = new SweepGuard(bucket, clock);
    }

    public BackupBucket bucket() {
        return bucket;
    }

    public static void checkId(String id) {
        if (id == null || !ID.matcher(id).matches()) {
            throw new BallastException(ErrorCode.INVALID_ARGUMENT, "backup id '" + id
                    + "': 1-128 characters of [a-zA-Z0-9._-], starting with a letter or digit");
        }
    }

    static String manifestKey(String id) {
        return DIR + id + SUFFIX;
    }

    public Optional<BackupManifest> get(String id) {
        checkId(id);
        return bucket.get(manifestKey(id)).map(b -> parse(b, id));
    }

    public BackupManifest require(String id) {
        return get(id).orElseThrow(() -> new BallastException(ErrorCode.NOT_FOUND, "backup " + id + " is not in "
                + bucket.describe()));
    }

    void put(BackupManifest m) {
        bucket.put(manifestKey(m.getBackupId()), m.toByteArray());
    }

    /** Every finished backup, oldest first. */
    public List<BackupManifest> list() {
        List<BackupManifest> out = new ArrayList<>();
        for (BackupBucket.Entry e : bucket.list(DIR)) {
            if (e.key().endsWith(SUFFIX)) {
                String id = e.key().substring(DIR.length(), e.key().length() - SUFFIX.length());
                bucket.get(e.key()).ifPresent(b -> out.add(parse(b, id)));
            }
        }
        out.sort(Comparator.comparingLong(BackupManifest::getCreatedMillis).thenComparing(BackupManifest::getBackupId));
        return out;
    }

    /**
     * What a delete removed. {@code sweepDeferredBy}: the backups running meanwhile, for whose sake
     * no chunk was swept (a later delete sweeps them).
     */
    public record Deleted(boolean existed, int chunksRemoved, long bytesRemoved, List<String> sweepDeferredBy) {}

    /**
     * Deletes backup {@code id} (absent: nothing to do; an unfinished one: given up) and the chunks
     * only it used, unless a backup is running ({@link SweepGuard}).
     */
    public Deleted delete(String id, Instant now) {
        checkId(id);
        boolean existed = bucket.exists(manifestKey(id));
        if (existed) {
            bucket.delete(manifestKey(id));
        }
        guard.endBackup(id);
        int[] removed = {0};
        long[] bytes = {0};
        List<String> running = guard.sweepUnlessRunning(now, stillSweeping -> {
            Set<String> live = new HashSet<>();
            for (BackupManifest m : list()) {
                stillSweeping.run();
                for (ByteString c : m.getChunksList()) {
                    if (!c.isEmpty()) {
                        live.add(ChunkCodec.name(c.toByteArray()));
                    }
                }
            }
            for (BackupBucket.Entry e : bucket.list("chunks/")) {
                stillSweeping.run();
                if (!live.contains(e.key()) && e.lastModified().isBefore(now.minus(SWEEP_GRACE))) {
                    bucket.delete(e.key());
                    removed[0]++;
                    bytes[0] += e.size();
                }
            }
        });
        return new Deleted(existed, removed[0], bytes[0], running);
    }

    /** Announces backup {@code id} as running and waits for sweeps that may not have seen it ({@link SweepGuard}). */
    void beginBackup(String id) throws InterruptedException {
        guard.beginBackup(id);
    }

    void renewBackup(String id) {
        guard.renewBackup(id);
    }

    /** Stores the finished backup's manifest; from then on its chunks are live, and it no longer runs. */
    void finish(BackupManifest m) {
        put(m);
        guard.endBackup(m.getBackupId());
    }

    private BackupManifest parse(byte[] bytes, String id) {
        try {
            BackupManifest m = BackupManifest.parseFrom(bytes);
            if (m.getFormat() != 1 || !m.getBackupId().equals(id)) {
                throw new BallastException(ErrorCode.CORRUPTION, "backup " + id + " in " + bucket.describe()
                        + ": its manifest is not a format-1 manifest of that backup");
            }
            return m;
        } catch (InvalidProtocolBufferException e) {
            throw new BallastException(ErrorCode.CORRUPTION, "backup " + id + " in " + bucket.describe()
                    + ": its manifest is damaged: " + e.getMessage());
        }
    }
}
