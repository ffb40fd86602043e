package io.ballast.backup;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
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
 * fails or is interrupted (its re-run resumes on the chunks it uploaded); records older than
 * {@link #STALE} are taken for those of crashed processes and ignored.
 */
final class SweepGuard {
    private static final Logger LOG = LoggerFactory.getLogger(SweepGuard.class);
    /** A marker or sweep record this old belongs to a process that is gone. */
    static final Duration STALE = Duration.ofDays(1);
    /** A running backup renews its marker this often, so a long backup never looks gone. */
    static final Duration RENEW = Duration.ofHours(1);
    static final String RUNNING = "running/";
    static final String SWEEPING = "sweeping/";
    private static final long POLL_MILLIS = 500;

    private final BackupBucket bucket;

    SweepGuard(BackupBucket bucket) {
        this.bucket = bucket;
    }

    /** Announces backup {@code id} as running and waits for the sweeps that may not have seen it. */
    void beginBackup(String id) throws InterruptedException {
        bucket.put(RUNNING + id, new byte[0]);
        boolean told = false;
        for (List<String> sweeps = fresh(SWEEPING, Instant.now()); !sweeps.isEmpty(); sweeps = fresh(SWEEPING, Instant.now())) {
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
     * swept).
     */
    List<String> sweepUnlessRunning(Instant now, Runnable sweep) {
        String record = SWEEPING + UUID.randomUUID();
        bucket.put(record, new byte[0]);
        try {
            List<String> running = fresh(RUNNING, now);
            if (running.isEmpty()) {
                sweep.run();
            }
            return running;
        } finally {
            bucket.delete(record);
        }
    }

    private List<String> fresh(String dir, Instant now) {
        List<String> names = new ArrayList<>();
        for (BackupBucket.Entry e : bucket.list(dir)) {
            if (e.lastModified().isAfter(now.minus(STALE))) {
                names.add(e.key().substring(dir.length()));
            }
        }
        return names;
    }
}
