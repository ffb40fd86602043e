package io.ballast.replication.snapshot;

import static io.ballast.replication.entry.VolumeLogLayout.ST_EXISTS;
import static io.ballast.replication.entry.VolumeLogLayout.ST_OK;

import io.ballast.engine.error.BallastException;
import io.ballast.engine.error.ErrorCode;
import io.ballast.engine.store.LocalBlockStore;
import io.ballast.engine.store.NodeDirectory;
import io.ballast.engine.store.SnapshotReader;
import io.ballast.engine.store.SnapshotReceiver;
import io.ballast.engine.store.VolumeSnapshots.SnapshotInfo;
import io.ballast.engine.store.VolumeSnapshots;
import io.ballast.replication.entry.VolumeLogLayout;
import io.ballast.replication.snapshot.SnapshotRegistry.Registered;
import io.ballast.replication.snapshot.SnapshotRegistry.State;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The snapshot side of one volume replica: applies SNAPSHOT / DELETE_SNAPSHOT / CREATE_CLONE /
 * FILLED entries to the node's {@link VolumeSnapshots} and the group's {@link SnapshotRegistry}.
 *
 * <p><b>Why the copy taken at apply time is exactly the state at the entry's index.</b> Ratis applies
 * a group's entries one at a time, in log order, on one thread; {@link #applySnapshot} runs inside
 * the apply of the SNAPSHOT entry at index i, so the store holds every entry before i and none after.
 * The copy makes data and checksums durable first and holds every store request off while it runs
 * ({@code LocalBlockStore.copyTo}). Only a replay after a crash could apply i over a different store,
 * and the state machine prevents that: after this returns it records a Raft snapshot at i (the store
 * checkpointed, {@code VolumeStateMachine#applySnapshotEntry}), so a restart replays only entries
 * after i. A crash before that record means no entry after i was applied (they wait for this apply),
 * and the store on disk was made durable at state i-1 by the copy's checkpoint, so replaying the log
 * from the last Raft snapshot up to i-1 over it converges to state i-1 again (in-order overwrites;
 * sizes only grow) and the redo sees exactly that state. Replay decisions are by index: a complete
 * copy tagged i is kept (the crash came after it), an incomplete one is taken again.
 *
 * <p><b>Rebuilt replicas.</b> A replica rebuilt by block copy holds blocks newer than its applied
 * index until it has replayed past the leader's index at the end of the copy (the fence). A
 * SNAPSHOT entry at or below the fence is registered but not copied here: the listing says this
 * replica does not hold it. A replica rebuilt after a snapshot never applies its entry and holds no
 * copy either; it learns of it from the leader's registry.
 *
 * <p>Threading: apply methods run on the group's apply thread (or the rebuild, while applies are
 * paused); {@link #list} and {@link #origin} from any thread.
 */
public final class ReplicaSnapshots {
    private static final Logger LOG = LoggerFactory.getLogger(ReplicaSnapshots.class);

    private final NodeDirectory node;
    private volatile SnapshotRegistry registry;
    /** Held while local copies are deleted or a fetched one is installed ({@link #installFetched}). */
    private final Object copies = new Object();

    public ReplicaSnapshots(NodeDirectory node) {
        this.node = node;
    }

    /** Loads the registry kept in the group's state machine directory. */
    public void init(Path stateMachineDir) throws IOException {
        registry = SnapshotRegistry.load(stateMachineDir);
    }

    /** Leader-side check of a new SNAPSHOT: a valid id the group has not taken yet. */
    public void checkNew(String volume, String id) {
        VolumeSnapshots.checkId(id);
        Registered r = registry.state().snapshots().get(id);
        if (r != null) {
            throw new BallastException(ErrorCode.ALREADY_EXISTS, "snapshot " + id + " of volume " + volume
                    + " already exists (log index " + r.index() + ")");
        }
    }

    /** A clone source "volume@snapshot": two valid names. */
    public static void checkSource(String source) {
        int at = source == null ? -1 : source.indexOf('@');
        if (at < 0 || !NodeDirectory.VOLUME_NAME.matcher(source.substring(0, at)).matches()
                || !NodeDirectory.VOLUME_NAME.matcher(source.substring(at + 1)).matches()) {
            throw new BallastException(ErrorCode.INVALID_ARGUMENT, "clone source '" + source + "' is not VOLUME@SNAPSHOT");
        }
    }

    /** Leader-side check of FILLED: the volume is a clone of {@code source}. */
    public void checkFilled(String volume, String source) {
        CloneOrigin o = origin();
        if (o == null || !o.source().equals(source)) {
            throw new BallastException(ErrorCode.FAILED_PRECONDITION, "volume " + volume + " is not a clone of "
                    + source + (o == null ? "" : " (it is a clone of " + o.source() + ")"));
        }
    }

    /** Applies SNAPSHOT(id) at {@code index}; returns ST_OK, or ST_EXISTS when an earlier entry took the id. */
    public byte applySnapshot(LocalBlockStore store, String id, long createdMillis, long index) {
        String volume = store.name();
        State st = registry.state();
        Registered known = st.snapshots().get(id);
        if (known != null && known.index() != index) {
            return ST_EXISTS; // taken by an earlier entry (two requests raced past validation)
        }
        if (index <= st.fence()) {
            // Rebuilt by block copy up to the fence: the store may hold blocks newer than index - 1.
            LOG.warn("volume {}: snapshot {} at index {} not taken on this replica: it was rebuilt by block copy "
                    + "up to index {}", volume, id, index, st.fence());
            store.checkpoint();
        } else {
            SnapshotInfo local = node.snapshots().get(volume, id).orElse(null);
            if (local != null && local.complete() && local.tag() != index) {
                // A copy this registry does not know of (e.g. left from before a re-add): not this snapshot.
                node.snapshots().delete(volume, id);
            }
            VolumeSnapshots.Taken t = node.snapshots().take(store, id, index, createdMillis);
            if (t.alreadyComplete()) {
                LOG.info("volume {}: snapshot {} at index {} already complete here (replay)", volume, id, index);
            }
        }
        long size = store.size();
        registry.update(s -> s.with(new Registered(id, index, createdMillis, size)));
        return ST_OK;
    }

    /** Applies DELETE_SNAPSHOT(id) at {@code index}: deletes the local copy and forgets the id. Idempotent. */
    public byte applyDelete(String volume, String id, long index) {
        Registered known = registry.state().snapshots().get(id);
        if (known != null && known.index() > index) {
            return ST_OK; // a later re-creation (replay ordering guard; see the class comment)
        }
        synchronized (copies) {
            node.snapshots().delete(volume, id); // files first: a crash in between leaves the id to delete again
            registry.update(s -> s.without(id));
        }
        return ST_OK;
    }

    /** CREATE_CLONE: records the source (once: a replay after FILLED keeps FILLED). */
    public void applyCloneOrigin(String source) {
        registry.update(s -> s.origin().isEmpty() ? new State(source, false, s.fence(), s.snapshots()) : s);
    }

    /** FILLED: the clone's fill from {@code source} is complete. */
    public byte applyFilled(String source) {
        State st = registry.update(s -> s.origin().equals(source) ? new State(source, true, s.fence(), s.snapshots()) : s);
        return st.filled() && st.origin().equals(source) ? ST_OK : VolumeLogLayout.ST_PRECONDITION;
    }

    /** The clone origin, or null for a volume that was not created from a snapshot. */
    public CloneOrigin origin() {
        State s = registry.state();
        return s.origin().isEmpty() ? null : new CloneOrigin(s.origin(), s.filled());
    }

    public ByteBuffer encodeRegistry() {
        return SnapshotRegistry.encode(registry.state());
    }

    /**
     * After a rebuild by block copy: adopt the leader's registry (at the copy's start) with the fence
     * {@code fence} (the leader's applied index when the copy ended), keep local copies the registry
     * names at the same index, and delete the others (snapshots deleted while this replica was away).
     */
    public void adoptFromLeader(String volume, ByteBuffer leaderRegistry, long fence) throws IOException {
        State leader = SnapshotRegistry.decode(leaderRegistry, "the leader's snapshot registry");
        synchronized (copies) {
            adopt(volume, leader, fence);
        }
    }

    private void adopt(String volume, State leader, long fence) {
        for (SnapshotInfo local : node.snapshots().list(volume)) {
            Registered r = leader.snapshots().get(local.id());
            if (r == null || r.index() != local.tag() || !local.complete()) {
                LOG.info("volume {}: dropping local snapshot {} after a rebuild (the group no longer has it at index {})",
                        volume, local.id(), local.tag());
                node.snapshots().delete(volume, local.id());
            }
        }
        registry.update(s -> new State(leader.origin(), leader.filled(), Math.max(fence, s.fence()), leader.snapshots()));
    }

    /**
     * This replica's complete copy of snapshot {@code id} taken at log index {@code tag}, open for a
     * peer's reads. NOT_FOUND when it holds none at that index (a copy with another tag is another
     * snapshot that reused the id).
     */
    public SnapshotReader openCopy(String volume, String id, long tag) {
        SnapshotReader r = node.snapshots().open(volume, id);
        if (r.info().tag() != tag) {
            r.close();
            throw new BallastException(ErrorCode.NOT_FOUND, "snapshot " + id + " of volume " + volume + " on this node "
                    + "was taken at index " + r.info().tag() + ", not " + tag);
        }
        return r;
    }

    /** Registered snapshots this replica holds a complete copy of (at their index). */
    List<Registered> held(String volume) {
        List<Registered> missing = missing(volume);
        List<Registered> out = new ArrayList<>(registry.state().snapshots().values());
        out.removeAll(missing);
        return out;
    }

    /** Registered snapshots this replica holds no complete copy of (at their index). */
    List<Registered> missing(String volume) {
        Map<String, SnapshotInfo> local = localCopies(volume);
        List<Registered> out = new ArrayList<>();
        for (Registered r : registry.state().snapshots().values()) {
            if (!holds(local.get(r.id()), r)) {
                out.add(r);
            }
        }
        return out;
    }

    /** How many registered snapshots this replica holds no complete copy of (a metric). */
    public int missingCount(String volume) {
        return missing(volume).size();
    }

    /** The node's copies of the volume's snapshots (complete or not), by id. */
    private Map<String, SnapshotInfo> localCopies(String volume) {
        Map<String, SnapshotInfo> local = new TreeMap<>();
        for (SnapshotInfo i : node.snapshots().list(volume)) {
            local.put(i.id(), i);
        }
        return local;
    }

    /** Whether {@code local} is a complete copy of {@code r} (taken at its index, not an older snapshot that had its id). */
    private static boolean holds(SnapshotInfo local, Registered r) {
        return local != null && local.complete() && local.tag() == r.index();
    }

    /**
     * Installs a copy fetched from a peer as snapshot {@code id}, unless the group no longer has
     * that snapshot at {@code index} (deleted while the copy came): false then, and the copy is
     * dropped. Under the lock DELETE_SNAPSHOT and a rebuild's adoption take, so neither can slip
     * between the check and the install and leave a copy no registry names.
     */
    boolean installFetched(SnapshotReceiver copy, String id, long index) {
        synchronized (copies) {
            Registered r = registry.state().snapshots().get(id);
            if (r == null || r.index() != index) {
                copy.close();
                return false;
            }
            node.snapshots().install(copy);
            return true;
        }
    }

    /** The node's snapshot files (a fetched copy is received into them). */
    public VolumeSnapshots files() {
        return node.snapshots();
    }

    /** The volume's snapshots on this replica: the registered ones, and local copies still being taken. */
    public List<SnapshotStatus> list(String volume) {
        Map<String, SnapshotInfo> local = localCopies(volume);
        List<SnapshotStatus> out = new ArrayList<>();
        Map<String, Registered> registered = registry.state().snapshots();
        long fence = registry.state().fence();
        for (Registered r : registered.values()) {
            SnapshotInfo l = local.get(r.id());
            boolean complete = holds(l, r);
            String note = complete ? "" : l != null && !l.complete() ? "copy on this replica is incomplete"
                    : r.index() <= fence ? "not held on this replica yet: it was rebuilt by block copy after the "
                            + "snapshot, and fetches its copy from a peer"
                    : "not held on this replica yet: it fetches its copy from a peer";
            out.add(new SnapshotStatus(r.id(), volume, r.sizeBytes(), r.createdMillis(), r.index(), true, complete, note));
        }
        for (SnapshotInfo l : local.values()) {
            if (!registered.containsKey(l.id())) {
                out.add(new SnapshotStatus(l.id(), volume, l.sizeBytes(), l.createdMillis(), l.tag(), false, false,
                        l.complete() ? "local copy not registered by the group" : "being taken (or interrupted)"));
            }
        }
        out.sort(java.util.Comparator.comparing(SnapshotStatus::id));
        return out;
    }
}
