package io.ballast.volumes;

import io.ballast.engine.error.BallastException;
import io.ballast.engine.error.ErrorCode;
import io.ballast.engine.nbd.MapNbdExports;
import io.ballast.engine.store.NodeDirectory;
import io.ballast.replication.GroupSnapshots;
import io.ballast.replication.GroupStatus;
import io.ballast.replication.RaftNode;
import io.ballast.replication.entry.VolumeLogLayout;
import io.ballast.replication.frontend.ReplicatedBlockVolume;
import io.ballast.replication.frontend.WriterEpochs;
import io.ballast.replication.snapshot.CloneFill;
import io.ballast.replication.snapshot.CloneOrigin;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The node's replicated volumes as the admin API manages them: replica groups on this node's
 * {@link RaftNode}, and the volumes attached here (opened with a writer epoch and exported over
 * NBD under their own name).
 *
 * <p>Threading: thread-safe; attach/detach of one volume are serialised by a per-volume monitor.
 * Errors: {@link BallastException} with the codes the admin API documents.
 */
public final class ReplicatedVolumes implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(ReplicatedVolumes.class);
    /** Attach retries when a concurrent attach elsewhere took the epoch we picked. */
    private static final int ATTACH_ATTEMPTS = 5;
    /**
     * How long an attach waits for its replica to catch up before moving leadership here; past it
     * the volume is served through the remote leader (locality is an optimisation, and moving
     * leadership to a lagging replica stalls every write until it catches up).
     */
    private static final Duration ATTACH_CATCH_UP_WAIT = Duration.ofSeconds(5);
    /** The same wait for an operator's {@code volume lead}, which then fails with the lag it saw. */
    private static final Duration LEAD_CATCH_UP_WAIT = Duration.ofSeconds(20);

    private final RaftNode raft;
    private final NodeDirectory directory;
    private final MapNbdExports exports;
    private final Path nbdSocket;
    private final Map<String, ReplicatedBlockVolume> attached = new ConcurrentHashMap<>();
    private final Map<String, Long> epochs = new ConcurrentHashMap<>();
    private final Map<String, Object> locks = new ConcurrentHashMap<>();
    /** Volumes attached here as one of several writers (their leadership is not pulled here). */
    private final Set<String> shared = ConcurrentHashMap.newKeySet();
    private final CloneFiller cloner;
    private final LeaderHoming homing;

    /**
     * @param leaderHomingDelay how long the leadership of a volume attached here may stay elsewhere
     *     before it is moved back ({@link LeaderHoming}); zero = never
     */
    public ReplicatedVolumes(RaftNode raft, NodeDirectory directory, MapNbdExports exports, Path nbdSocket,
            Duration leaderHomingDelay) {
        this.raft = raft;
        this.directory = directory;
        this.exports = exports;
        this.nbdSocket = nbdSocket;
        this.cloner = new CloneFiller(raft);
        this.homing = new LeaderHoming(raft, this::homed, leaderHomingDelay).start();
    }

    /** The volumes whose leadership belongs here: attached alone, with a local replica, not fenced. */
    private Set<String> homed() {
        Set<String> names = new java.util.HashSet<>();
        attached.forEach((name, v) -> {
            if (!v.diskless() && !v.fenced() && !shared.contains(name) && raft.hostsGroup(name)) {
                names.add(name);
            }
        });
        return names;
    }

    public String nodeId() {
        return raft.nodeId();
    }

    /** True when this node holds a replica of the volume (its group runs here). */
    public boolean hostsReplica(String name) {
        return raft.hostsGroup(name);
    }

    public RaftNode raft() {
        return raft;
    }

    /**
     * Creates the volume's replica group on {@code peers} (node id -> raft host:port; empty = a
     * single replica on this node). Returns false when a group with that name already exists here
     * with the same size (idempotent), ALREADY_EXISTS when its size differs.
     */
    public boolean create(String name, long sizeBytes, Map<String, String> peers) {
        synchronized (lock(name)) {
            if (raft.groups().contains(name)) {
                var origin = raft.snapshots().origin(name);
                if (origin.isPresent()) {
                    throw new BallastException(ErrorCode.ALREADY_EXISTS, "volume " + name + " exists as a clone of "
                            + origin.get().source() + "; a plain volume of that name was asked for");
                }
                long existing = directory.volumeNames().contains(name) ? sizeOf(name) : -1;
                if (existing >= 0 && existing != sizeBytes) {
                    throw new BallastException(ErrorCode.ALREADY_EXISTS, "volume " + name + " exists with "
                            + existing + " bytes, not " + sizeBytes + "; use resize to grow it");
                }
                return false;
            }
            Map<String, String> members = peers.isEmpty() ? Map.of(raft.nodeId(), raft.config().address()) : peers;
            raft.createReplicaGroup(name, sizeBytes, new LinkedHashMap<>(members));
            return true;
        }
    }

    /**
     * Creates the volume as a clone of snapshot {@code snapshotId} of {@code sourceVolume} and fills
     * it (see {@link CloneFiller}). Returns false for a clone of the same source that is already
     * filled. Everything is checked before anything is created.
     */
    public boolean createClone(String name, long sizeBytes, Map<String, String> peers, String sourceVolume, String snapshotId) {
        synchronized (lock(name)) {
            Map<String, String> members = peers.isEmpty() ? Map.of(raft.nodeId(), raft.config().address()) : peers;
            return cloner.create(name, sizeBytes, new LinkedHashMap<>(members), sourceVolume, snapshotId,
                    () -> openWithFreshEpoch(name));
        }
    }

    /** Fill progress of a clone filled (or being filled) on this node, or null. */
    public CloneFill.Progress fillProgress(String name) {
        return cloner.progress(name);
    }

    /** The volume's clone origin (source and whether the fill finished), if it is a clone. */
    public Optional<CloneOrigin> origin(String name) {
        return raft.snapshots().origin(name);
    }

    /** Snapshots of this node's volumes (create, delete, list). */
    public GroupSnapshots snapshots() {
        return raft.snapshots();
    }

    private long sizeOf(String name) {
        ReplicatedBlockVolume open = attached.get(name);
        if (open != null) {
            return open.size();
        }
        return -1; // not attached here: size known to the group, not cheaply to this node
    }

    public List<String> names() {
        return raft.groups();
    }

    public GroupStatus status(String name) {
        return raft.status(name);
    }

    /** Names of the volumes attached on this node (with a local replica or diskless). */
    public List<String> attachedNames() {
        return List.copyOf(attached.keySet());
    }

    /** The volume attached on this node, or null. */
    public ReplicatedBlockVolume attachedVolume(String name) {
        return attached.get(name);
    }

    /**
     * Opens the volume here with a writer epoch above every earlier one (fencing the previous
     * frontend), moves leadership here when its replica is up to date, and exports it over NBD.
     * Idempotent while the handle attached here is still the writer; a handle fenced by an attach
     * elsewhere since is closed and replaced (NBD sessions opened on it keep failing; new ones get
     * the new handle).
     */
    public ReplicatedBlockVolume attach(String name) {
        return attach(name, Map.of());
    }

    /**
     * As {@link #attach(String)}; on a node without a replica of the volume, {@code peers} (node id
     * -> raft address of its replicas) makes it a diskless frontend whose reads and writes go to the
     * group's leader; without peers that is NOT_FOUND.
     */
    public ReplicatedBlockVolume attach(String name, Map<String, String> peers) {
        return attach(name, peers, false);
    }

    /**
     * As {@link #attach(String, Map)}; {@code shared}: a multi-writer block volume (CSI
     * MULTI_NODE_MULTI_WRITER) that other nodes may have attached shared too. The first shared
     * attach fences any exclusive holder, later ones join its epoch and write side by side with it
     * ({@link WriterEpochs}); reads on every one of them see every write acknowledged anywhere
     * before the read (each read waits for a read-index round, {@code ReadFence}). An exclusive
     * attach afterwards fences them all. A shared attach leaves the leadership where it is.
     */
    public ReplicatedBlockVolume attach(String name, Map<String, String> peers, boolean shared) {
        synchronized (lock(name)) {
            ReplicatedBlockVolume current = attached.get(name);
            if (current != null && !current.fenced()) {
                return current;
            }
            if (current != null) {
                LOG.info("volume {}: the handle attached here with writer epoch {} was fenced by an attach elsewhere; "
                        + "attaching anew", name, current.writerEpoch());
                attached.remove(name);
                exports.remove(name);
                current.close();
            }
            if (shared) {
                ReplicatedBlockVolume v = openShared(name, peers);
                this.shared.add(name);
                attached.put(name, v);
                exports.add(v);
                LOG.info("volume {} attached here shared (multi-writer{}) with writer epoch {}, exported at {}", name,
                        v.diskless() ? ", diskless through its leader" : "", v.writerEpoch(), nbdUri(name));
                return v;
            }
            this.shared.remove(name);
            if (!raft.hostsGroup(name) && !peers.isEmpty()) {
                ReplicatedBlockVolume remote = openRemoteWithFreshEpoch(name, peers);
                attached.put(name, remote);
                exports.add(remote);
                LOG.info("volume {} attached here without a local replica (diskless, through its leader among {}) with "
                        + "writer epoch {}, exported at {}", name, peers.keySet(), epochs.get(name), nbdUri(name));
                return remote;
            }
            ReplicatedBlockVolume volume = openWithFreshEpoch(name);
            GroupStatus status = raft.status(name);
            if (!raft.nodeId().equals(status.leaderId())) {
                try {
                    raft.transferLeadership(name, raft.nodeId(), ATTACH_CATCH_UP_WAIT);
                } catch (BallastException e) {
                    // Locality is an optimisation: the volume works through a remote leader too.
                    LOG.warn("volume {}: could not move leadership to {}: {}", name, raft.nodeId(), e.getMessage());
                }
            }
            attached.put(name, volume);
            exports.add(volume);
            LOG.info("volume {} attached here with writer epoch {}, exported at {}", name, epochs.get(name), nbdUri(name));
            return volume;
        }
    }

    /** Joins the volume's shared epoch, or starts one (see {@link #attach(String, Map, boolean)}). */
    private ReplicatedBlockVolume openShared(String name, Map<String, String> peers) {
        boolean local = raft.hostsGroup(name);
        if (!local && peers.isEmpty()) {
            throw new BallastException(ErrorCode.NOT_FOUND, "volume " + name + " has no replica on " + raft.nodeId()
                    + " and no replicas were named to reach it");
        }
        BallastException last = null;
        for (int attempt = 0; attempt < ATTACH_ATTEMPTS; attempt++) {
            VolumeLogLayout.Info info = raft.volumeInfo(name, peers);
            try {
                ReplicatedBlockVolume v;
                if (WriterEpochs.shared(info.epoch())) {
                    v = local ? raft.joinVolume(name, info.epoch(), info.index())
                            : raft.joinRemoteVolume(name, peers, info.epoch(), info.index());
                } else {
                    long epoch = WriterEpochs.firstShared(info.epoch());
                    v = local ? raft.openVolume(name, epoch) : raft.openRemoteVolume(name, peers, epoch);
                }
                epochs.put(name, v.writerEpoch());
                return v;
            } catch (BallastException e) {
                if (e.code() != ErrorCode.FAILED_PRECONDITION) {
                    throw e;
                }
                last = e; // another node started the shared epoch first, or attached exclusively: look again
            }
        }
        throw last;
    }

    private ReplicatedBlockVolume openWithFreshEpoch(String name) {
        BallastException last = null;
        for (int attempt = 0; attempt < ATTACH_ATTEMPTS; attempt++) {
            long epoch = WriterEpochs.nextExclusive(raft.status(name).writerEpoch(), System.currentTimeMillis());
            try {
                ReplicatedBlockVolume v = raft.openVolume(name, epoch);
                epochs.put(name, epoch);
                return v;
            } catch (BallastException e) {
                if (e.code() != ErrorCode.FAILED_PRECONDITION) {
                    throw e;
                }
                last = e; // another frontend raised the epoch meanwhile: pick a higher one
            }
        }
        throw last;
    }

    private ReplicatedBlockVolume openRemoteWithFreshEpoch(String name, Map<String, String> peers) {
        BallastException last = null;
        for (int attempt = 0; attempt < ATTACH_ATTEMPTS; attempt++) {
            long epoch = WriterEpochs.nextExclusive(raft.volumeInfo(name, peers).epoch(), System.currentTimeMillis());
            try {
                ReplicatedBlockVolume v = raft.openRemoteVolume(name, peers, epoch);
                epochs.put(name, epoch);
                return v;
            } catch (BallastException e) {
                if (e.code() != ErrorCode.FAILED_PRECONDITION) {
                    throw e;
                }
                last = e; // another frontend raised the epoch meanwhile: pick a higher one
            }
        }
        throw last;
    }

    /** The writer epoch this node attached the volume with (0 when not attached here). */
    public long epochOf(String name) {
        return attached.containsKey(name) ? epochs.getOrDefault(name, 0L) : 0L;
    }

    /** Stops exporting and closes the handle. Idempotent. */
    public void detach(String name) {
        synchronized (lock(name)) {
            ReplicatedBlockVolume volume = attached.remove(name);
            shared.remove(name);
            if (volume != null) {
                exports.remove(name);
                volume.close();
                LOG.info("volume {} detached ({} reads confirmed by {} read-fence rounds)", name, volume.reads(),
                        volume.fenceRounds());
            }
        }
    }

    /**
     * Adds {@code nodeId} at raft {@code address} as a replica of the volume (see
     * {@link RaftNode#addReplica}). Returns true for a new member, false for a re-joined one.
     */
    public boolean addReplica(String name, String nodeId, String address) {
        return raft.addReplica(name, nodeId, address);
    }

    /**
     * Removes {@code nodeId} from the volume's group and deletes its replica there. Refused while
     * the volume is attached on that node when that node is this one: its frontend reads from the
     * local replica. Returns null when the replica was deleted, else why not.
     */
    public String removeReplica(String name, String nodeId, String address) {
        synchronized (lock(name)) {
            if (raft.nodeId().equals(nodeId) && attached.containsKey(name)) {
                throw new BallastException(ErrorCode.FAILED_PRECONDITION, "volume " + name + " is attached on "
                        + nodeId + ", whose replica serves its reads; detach it (or attach elsewhere) first");
            }
            return raft.removeReplica(name, nodeId, address);
        }
    }

    /**
     * Grows the volume: through its handle when attached here, else by a RESIZE entry under the
     * current writer epoch (the frontend elsewhere, if any, stays valid). NOT_FOUND without a replica here.
     */
    public void resize(String name, long sizeBytes) {
        ReplicatedBlockVolume v = attached.get(name);
        if (v != null) {
            v.resize(sizeBytes).join();
        } else {
            raft.resize(name, sizeBytes);
        }
    }

    /**
     * Deletes this node's replica of the volume (its Raft member and block store) without changing
     * the group's membership: the catalog's controller deletes a volume by calling this on every
     * replica's node. Absent = success. FAILED_PRECONDITION while the volume is attached here.
     */
    public void deleteLocalReplica(String name) {
        synchronized (lock(name)) {
            if (attached.containsKey(name)) {
                throw new BallastException(ErrorCode.FAILED_PRECONDITION, "volume " + name
                        + " is attached on this node; detach it first");
            }
            if (!raft.hostsGroup(name)) { // by group id: a group that has not applied CREATE yet counts too
                return;
            }
            raft.removeGroup(name);
            LOG.info("volume {}: replica on this node deleted", name);
        }
    }

    /** True while this node holds a replica of the volume. */
    public boolean hosts(String name) {
        return raft.groups().contains(name);
    }

    /** Starts (or joins) a background scrub of this node's replica; results show in {@link #status}. */
    public void scrub(String name) {
        raft.scrub(name); // not awaited: it runs in the background and logs its own outcome
    }

    /** Moves leadership to {@code target} once its replica has caught up (see {@link RaftNode#transferLeadership}). */
    public void transferLeadership(String name, String target) {
        raft.transferLeadership(name, target, LEAD_CATCH_UP_WAIT);
    }

    public String nbdUri(String name) {
        return "nbd+unix:///" + name + "?socket=" + nbdSocket;
    }

    private Object lock(String name) {
        return locks.computeIfAbsent(name, n -> new Object());
    }

    @Override
    public void close() {
        homing.close();
        for (String name : List.copyOf(attached.keySet())) {
            try {
                detach(name);
            } catch (RuntimeException e) {
                LOG.warn("detach of {} during shutdown: {}", name, e.toString());
            }
        }
    }
}
