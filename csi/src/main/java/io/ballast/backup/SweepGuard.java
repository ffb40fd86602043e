package io.ballast.backup;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.function.Consumer;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps a delete's sweep from removing chunks a running backup relies on, in a bucket without
 * locks. A backup relies on chunks it did not upload: those it takes over from its base backup
 * unchanged, and those it finds already stored. A sweep deleting such a chunk (because the only
 * manifest that named it was being deleted) would leave the new backup with a hole that only a
 * restore would find.
 *
 * <p>The protocol, on S3's strong read-after-write consistency for puts, deletes and lists:
 * <ul>
 *   <li>A backup first writes {@code running/<id>}, then waits until no {@code sweeping/*} record
 *       is left, and only then reads its base manifest and looks chunks up.</li>
 *   <li>A delete writes {@code sweeping/<uuid>}, lists {@code running/}, sweeps only if no backup is
 *       running, and removes its record.</li>
 * </ul>
 * Either the delete lists after the backup's marker was written (it then leaves the chunks for a
 * later delete), or the marker came after the delete's record, and the backup waits for that
 * sweep to end before it looks at anything the sweep could remove. A backup's marker stays when it
 * fails or is interrupted (its re-run resumes on the chunks it uploaded); markers older than
 * {@link #STALE} are taken for those of crashed backups and ignored. A sweep renews its record
 * every {@link #SWEEP_RENEW} while it works, so a record older than {@link #SWEEP_STALE} is a
 * crashed delete's: it holds no backup back for long.
 */
final class SweepGuard {
    private static final Logger LOG = LoggerFactory.getLogger(SweepGuard.class);
    /** A backup's marker this old belongs to a process that is gone. */
    static final Duration STALE = Duration.ofDays(1);
    /** A sweep's record this old belongs to a delete that is gone; a sweep renews it more often. */
    static final Duration SWEEP_STALE = Duration.ofMinutes(10);
    static final Duration SWEEP_RENEW = Duration.ofMinutes(1);
    /** A running backup renews its marker this often, so a long backup never looks gone. */
    static final Duration RENEW = Duration.ofHours(1);
    static final String RUNNING = "running/";
    static final String SWEEPING = "sweeping/";
    private static final long POLL_MILLIS = 500;

    private final BackupBucket bucket;
    private final Supplier<Instant> clock;

    SweepGuard(BackupBucket bucket, Supplier<Instant> clock) {
        this.bucket = bucket;
        this.clock = clock;
    }

    /** Announces backup {@code id} as running and waits for the sweeps that may not have seen it. */
    void beginBackup(String id) throws InterruptedException {
        bucket.put(RUNNING + id, new byte[0]);
        boolean told = false;
        for (List<String> sweeps = fresh(SWEEPING, clock.get(), SWEEP_STALE); !sweeps.isEmpty();
                sweeps = fresh(SWEEPING, clock.get(), SWEEP_STALE)) {
            if (!told) {
                LOG.info("backup {} waits for a delete's sweep under way in {} ({}{})", id, bucket.describe(), SWEEPING, sweeps.get(0));
                told = true;
            }
            Thread.sleep(POLL_MILLIS);
        }
    }

    void renewBackup(String id) {
        bucket.put(RUNNING + id, new byte[0]);
    }

    /** The backup's manifest is stored (or it is given up): it relies on nothing any more. */
    void endBackup(String id) {
        bucket.delete(RUNNING + id);
    }

    /**
     * Runs {@code sweep} unless a backup is running; returns the running backups' ids (empty: it
     * swept). The sweep calls the runnable it is given now and then (per object, say): it renews
     * the sweep's record when due.
     */
    List<String> sweepUnlessRunning(Instant now, Consumer<Runnable> sweep) {
        String record = SWEEPING + UUID.randomUUID();
        bucket.put(record, new byte[0]);
        try {
            List<String> running = fresh(RUNNING, now, STALE);
            if (running.isEmpty()) {
                long[] renewed = {System.nanoTime()};
                sweep.accept(() -> {
                    if (System.nanoTime() - renewed[0] > SWEEP_RENEW.toNanos()) {
                        bucket.put(record, new byte[0]);
                        renewed[0] = System.nanoTime();
                    }
                });
            }
            return running;
        } finally {
            bucket.delete(record);
        }
    }

    private List<String> fresh(String dir, Instant now, Duration stale) {
        List<String> names = new ArrayList<>();
        for (BackupBucket.Entry e : bucket.list(dir)) {
            if (e.lastModified().isAfter(now.minus(stale))) {
                names.add(e.key().substring(dir.length()));
            }
        }
        return names;
    }
}
