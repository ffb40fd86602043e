package io.ballast.volumes;

import io.ballast.engine.error.BallastException;
import io.ballast.engine.error.ErrorCode;
import io.ballast.engine.store.SnapshotReader;
import io.ballast.replication.RaftNode;
import io.ballast.replication.frontend.ReplicatedBlockVolume;
import io.ballast.replication.snapshot.CloneFill;
import io.ballast.replication.snapshot.CloneOrigin;
import io.ballast.replication.snapshot.SnapshotStatus;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Creates a volume as a clone of a snapshot this node holds, and fills it.
 *
 * <ol>
 *   <li>Checks, before creating anything: this node holds a replica of the source volume
 *   (NOT_FOUND), the group took the snapshot (NOT_FOUND), this node's copy of it is complete
 *   (FAILED_PRECONDITION, saying why not), this node is one of the new volume's peers (the fill
 *   reads the local copy and writes through this node: FAILED_PRECONDITION), the size holds the
 *   snapshot (OUT_OF_RANGE), and an existing volume of that name is a clone of the same source
 *   (ALREADY_EXISTS).</li>
 *   <li>Creates the group with a CREATE_CLONE entry, so every replica records the source.</li>
 *   <li>Opens the volume with a fresh writer epoch, writes the snapshot's non-zero data
 *   ({@link CloneFill}), flushes, closes the handle, then appends FILLED. Only a FILLED volume counts
 *   as created: after a crash or failure mid-fill, repeating the request redoes the whole fill
 *   (overwriting what the first attempt wrote with the same bytes); a filled clone answers
 *   {@code false} (exists).</li>
 * </ol>
 *
 * <p>Threading: the caller serialises calls per volume name (ReplicatedVolumes' lock); progress
 * may be read from any thread.
 */
final class CloneFiller {
    private static final Logger LOG = LoggerFactory.getLogger(CloneFiller.class);

    private final RaftNode raft;
    private final Map<String, CloneFill.Progress> progress = new ConcurrentHashMap<>();

    CloneFiller(RaftNode raft) {
        this.raft = raft;
    }

    /** Returns true when this call filled the clone, false when it was already filled. */
    boolean create(String name, long sizeBytes, Map<String, String> members, String sourceVolume, String snapshotId,
            Supplier<ReplicatedBlockVolume> open) {
        String source = sourceVolume + "@" + snapshotId;
        if (!raft.groups().contains(sourceVolume)) {
            throw new BallastException(ErrorCode.NOT_FOUND, "node " + raft.nodeId() + " holds no replica of source volume "
                    + sourceVolume + "; send the clone request to a node whose ListSnapshots shows " + source + " ready");
        }
        SnapshotStatus snap = raft.snapshots().get(sourceVolume, snapshotId).filter(SnapshotStatus::registered)
                .orElseThrow(() -> new BallastException(ErrorCode.NOT_FOUND, "volume " + sourceVolume
                        + " has no snapshot " + snapshotId));
        if (!snap.complete()) {
            throw new BallastException(ErrorCode.FAILED_PRECONDITION, "snapshot " + source + " is " + snap.note()
                    + " (node " + raft.nodeId() + "); send the clone request to a node whose ListSnapshots shows it ready");
        }
        if (!members.containsKey(raft.nodeId())) {
            throw new BallastException(ErrorCode.FAILED_PRECONDITION, "node " + raft.nodeId() + " is not one of the clone's "
                    + "peers " + members.keySet() + "; the node filling a clone must hold one of its replicas");
        }
        if (sizeBytes < snap.sizeBytes()) {
            throw new BallastException(ErrorCode.OUT_OF_RANGE, "clone " + name + " of " + sizeBytes + " bytes cannot hold "
                    + "snapshot " + source + " of " + snap.sizeBytes() + " bytes");
        }
        if (raft.groups().contains(name)) {
            Optional<CloneOrigin> origin = raft.snapshots().origin(name);
            if (origin.isEmpty() || !origin.get().source().equals(source)) {
                throw new BallastException(ErrorCode.ALREADY_EXISTS, "volume " + name + " exists "
                        + origin.map(o -> "as a clone of " + o.source()).orElse("and is not a clone")
                        + ", not as a clone of " + source);
            }
            if (origin.get().filled()) {
                return false;
            }
            LOG.warn("clone {} of {} exists but its fill did not finish: filling it again", name, source);
        } else {
            raft.createReplicaGroup(name, sizeBytes, members, source);
        }
        fill(name, source, sourceVolume, snapshotId, open);
        return true;
    }

    private void fill(String name, String source, String sourceVolume, String snapshotId,
            Supplier<ReplicatedBlockVolume> open) {
        CloneFill.Progress p = new CloneFill.Progress();
        progress.put(name, p);
        long t0 = System.nanoTime();
        ReplicatedBlockVolume volume = open.get();
        try {
            if (!raft.nodeId().equals(raft.status(name).leaderId())) {
                try {
                    raft.transferLeadership(name, raft.nodeId(), java.time.Duration.ofSeconds(5)); // entries then go straight to the local leader
                } catch (BallastException e) {
                    LOG.info("clone {}: filling through the remote leader ({})", name, e.getMessage());
                }
            }
            try (SnapshotReader reader = raft.snapshots().open(sourceVolume, snapshotId, "fill of clone " + name)) {
                CloneFill.fill(reader, volume, p);
            }
        } finally {
            volume.close();
        }
        raft.snapshots().markFilled(name, source);
        long ms = Math.max(1, (System.nanoTime() - t0) / 1_000_000);
        LOG.info("clone {} filled from {}: {} bytes of data written ({} bytes scanned) in {} ms, {} MiB/s", name, source,
                p.bytesWritten.get(), p.bytesTotal.get(), ms, (p.bytesWritten.get() >> 20) * 1000 / ms);
    }

    CloneFill.Progress progress(String name) {
        return progress.get(name);
    }
}
