package io.ballast.replication.statemachine;

import static io.ballast.replication.entry.VolumeLogLayout.*;

import io.ballast.engine.error.BallastException;
import io.ballast.engine.error.ErrorCode;
import io.ballast.engine.store.LocalBlockStore;
import io.ballast.engine.store.NodeDirectory;
import io.ballast.replication.checkpoint.CheckpointFile;
import io.ballast.replication.checkpoint.LogBudget;
import io.ballast.replication.checkpoint.ReplicaLogSpace;
import io.ballast.replication.entry.BlockOps;
import io.ballast.replication.entry.PlacedWrites;
import io.ballast.replication.entry.VolumeEntryData;
import io.ballast.replication.entry.VolumeLogLayout;
import io.ballast.replication.ratis.LocalSnapshotRequest;
import io.ballast.replication.ratis.RatisErrors;
import io.ballast.replication.ratis.StateMachinePause;
import io.ballast.replication.rebuild.BlockCopier;
import io.ballast.replication.rebuild.BlockRepairer;
import io.ballast.replication.rebuild.ChangeTracker;
import io.ballast.replication.rebuild.CopyFloor;
import io.ballast.replication.rebuild.IntegrityStatus;
import io.ballast.replication.rebuild.LocalReplica;
import io.ballast.replication.rebuild.RebuildHandover;
import io.ballast.replication.rebuild.RegionGenerations;
import io.ballast.replication.rebuild.ReplicaScrub;
import io.ballast.replication.snapshot.ReplicaSnapshots;
import io.ballast.replication.snapshot.SnapshotCopyFetch;
import io.ballast.replication.snapshot.SnapshotBlockRepair;
import io.ballast.replication.snapshot.SnapshotCopyScrub;
import io.ballast.replication.space.SpaceGuard;
import io.ballast.replication.tls.RaftTls;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Objects;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.locks.Lock;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import java.util.function.Function;
import java.util.stream.Stream;
import org.apache.ratis.client.RaftClient;
import org.apache.ratis.proto.RaftProtos.LogEntryProto;
import org.apache.ratis.proto.RaftProtos.RoleInfoProto;
import org.apache.ratis.protocol.Message;
import org.apache.ratis.protocol.RaftClientRequest;
import org.apache.ratis.protocol.RaftGroup;
import org.apache.ratis.protocol.RaftGroupId;
import org.apache.ratis.server.RaftServer;
import org.apache.ratis.server.RaftServerConfigKeys;
import org.apache.ratis.server.protocol.TermIndex;
import org.apache.ratis.server.storage.RaftStorage;
import org.apache.ratis.statemachine.StateMachineStorage;
import org.apache.ratis.statemachine.TransactionContext;
import org.apache.ratis.statemachine.impl.BaseStateMachine;
import org.apache.ratis.thirdparty.com.google.protobuf.ByteString;
import org.apache.ratis.thirdparty.com.google.protobuf.UnsafeByteOperations;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The state machine of one volume replica: applies the volume's log ({@link VolumeLogLayout}) to
 * the replica's {@link LocalBlockStore}.
 *
 * <ul>
 *   <li><b>Validation</b> happens in {@link #startTransaction} on the leader (CRC, ranges, writer
 *   epoch): a refused request is never appended. {@link #applyTransaction} is deterministic: it
 *   re-checks the epoch (an entry admitted before a concurrent ATTACH is ignored alike on every
 *   replica, reply FENCED) and maps refusals the store itself makes to per-record statuses; only a
 *   local disk failure throws (and stops this group on this node).
 *   <li><b>No fsync on apply</b>: Ratis has fsynced the log on a majority before commit. The store
 *   is fsynced by {@link #takeSnapshot()} ({@code checkpoint()}), after which the log is purged;
 *   on restart the log after the snapshot is replayed over the store (in-order overwrites converge;
 *   RESIZE to a size already reached is a no-op).
 *   <li><b>Large writes</b> (an OPS entry of 256 KiB or more) are Ratis stateMachineData: kept in
 *   the replica's entry journal, with a reference in the log ({@link VolumeEntryData}); apply reads
 *   them from its cache or the journal. Snapshots come every 2048 entries (Ratis) or after a share
 *   of the replica's log budget in entry bytes, and purge the log within it ({@link ReplicaLogSpace}).
 *   <li><b>Snapshot</b> = the checkpointed store + a small file {@code snapshot.<term>_<index>}
 *   ({@link CheckpointFile}) holding the writer epoch, in the Ratis state machine directory.
 *   <li><b>Rebuild</b> (a follower behind the leader's purged log):
 *   {@link #notifyInstallSnapshotFromLeader} runs {@link BlockCopier}: a block copy from the
 *   leader through read-only queries, 1 MiB at a time; of every block for a new or wiped
 *   replica, else of the regions changed since the index its store holds ({@link RegionGenerations}).
 *   <li><b>Volume snapshots</b> (SNAPSHOT / DELETE_SNAPSHOT entries, clone origin): replica-local
 *   copies taken at apply time, see {@link ReplicaSnapshots} for why they are exact; after applying a
 *   SNAPSHOT a Raft snapshot is recorded at its index so a restart never replays it over a later
 *   state ({@link #applySnapshotEntry}).
 *   <li><b>Repair</b> of blocks failing their checksum, on reads and scrubs: {@link BlockRepairer}
 *   copies them from a peer; applies hold {@link #repairGuard} so a copy never overwrites a newer
 *   applied write.
 * </ul>
 *
 * <p>The volume's store is found by name: the group id is {@link #groupIdOf} the name.
 * It is opened in {@link #initialize}, created on applying CREATE or by a rebuild.
 *
 * <p>Size: over 450 lines because Ratis's StateMachine contract is one class whose hooks
 * (initialize, pause/reinitialize, startTransaction, apply, query, snapshot, install) share the
 * (epoch, applied index) pair under one lock; jobs with state of their own live beside it: the
 * leader's checks ({@link EntryAdmission}), changed-block tracking ({@link ChangeTracker}),
 * {@link AppliedIndexWaiters}, {@link ReplicaLogSpace}, {@link BlockRepairer}, {@link ReplicaScrub},
 * {@link ReplicaSnapshots}, {@link BlockCopier}, {@link CopyFloor}, {@link RebuildHandover},
 * {@link VolumeEntryData}. What stays is what those hooks must change together: a rebuild's
 * adoption of the leader's state ({@link #notifyInstallSnapshotFromLeader}) sets the epoch, the
 * checkpoint file, the region generations and the snapshot registry as one step.
 */
public final class VolumeStateMachine extends BaseStateMachine implements LocalReplica {
    private static final Logger LOG = LoggerFactory.getLogger(VolumeStateMachine.class);
    static final int MAX_READ = ReplicaQueries.MAX_READ;

    /** The Raft group id of a volume: a name-based UUID, the same on every node. */
    public static RaftGroupId groupIdOf(String volume) {
        return RaftGroupId.valueOf(UUID.nameUUIDFromBytes(("ballast-volume:" + volume).getBytes(StandardCharsets.UTF_8)));
    }
    private final long journalFileSize;
    private final long rebuildBytesPerSecond;
    /** Keeps the Raft log and entry journal within their budget. */
    private final ReplicaLogSpace logSpace;
    /** Changed-block tracking for incremental rebuilds, and the index a clean stop left. */
    private final ChangeTracker changes = new ChangeTracker(() -> String.valueOf(getId()));

    private final NodeDirectory node;
    private final Function<RaftGroup, RaftClient> clients;
    private final Executor background;
    private final CheckpointFile.Storage storage = new CheckpointFile.Storage();
    /** Guards (epoch, lastApplied) so the rebuild info is a consistent pair. */
    private final Object applyLock = new Object();
    private final AppliedIndexWaiters waiters = new AppliedIndexWaiters(this::appliedIndex);

    private volatile LocalBlockStore store;
    private volatile String volumeName;
    private volatile long epoch;
    public final BlockCopier.Progress rebuild = new BlockCopier.Progress();
    private final VolumeEntryData entryData = new VolumeEntryData();
    private DiskFullWait diskFull = new DiskFullWait("volume group");
    /**
     * Read side: held by an apply from its first store write until its applied index is raised.
     * Write side: held by a repair while it checks the applied index and writes a fetched block
     * ({@link BlockRepairer} explains why this keeps an older copy from overwriting a newer write).
     */
    private final ReentrantReadWriteLock repairGuard = new ReentrantReadWriteLock();
    public final BlockRepairer repairer = new BlockRepairer(this);
    public final ReplicaScrub scrub;
    public final ReplicaSnapshots snapshots;
    /** Repairs a bad block of a local snapshot copy from a peer's (the copies' scrub, clone fills, backups). */
    public final SnapshotBlockRepair snapshotRepair;
    /** Fetches the snapshot copies this replica lacks (rebuilt after them) from its peers. */
    public final SnapshotCopyFetch snapshotCopies;
    /** A rebuild is copying blocks: the applied index says nothing about them, so no repairs. */
    private volatile boolean rebuilding;
    /** A rebuild's copy start: applies at or below it wait for the copy's outcome ({@link CopyFloor}). */
    private final CopyFloor copyFloor = new CopyFloor(repairGuard, () -> getId() + " (" + volumeName + ")");

    /** Restarts this replica's division (see {@link RebuildHandover}); false when it cannot now. */
    public interface DivisionRestarter {
        boolean restart(RaftGroupId group, String why);
    }

    private final RebuildHandover handover;
    /** Set before a division restart: the group goes away and comes back, its replica stays. */
    private volatile boolean keepReplicaOnRemove;
    /** Why this replica's Raft log is stuck, or null ({@link io.ballast.replication.StuckLogWatchdog StuckLogWatchdog}). */
    private volatile String logStuck;

    /** This state machine's division once looked up ({@link #division}). */
    private volatile RaftServer.Division self;

    /** How Ratis clients this replica builds itself (repairs) talk to peers. */
    private final RaftTls tls;

    /** The leader's checks in {@link #startTransaction}. */
    private final EntryAdmission admission;

    public VolumeStateMachine(NodeDirectory node, Function<RaftGroup, RaftClient> clients, Executor background,
            long logBudgetMin, long journalFileSize, long rebuildBytesPerSecond, DivisionRestarter restarter,
            SpaceGuard space, RaftTls tls) {
        this.tls = tls;
        this.admission = new EntryAdmission(this, space);
        this.journalFileSize = journalFileSize;
        this.rebuildBytesPerSecond = rebuildBytesPerSecond;
        this.handover = new RebuildHandover(() -> getId() + " (" + volumeName + ")", background,
                RebuildHandover.GRACE_MILLIS, () -> restarter.restart(getGroupId(), "rebuild not reloaded"));
        this.node = node;
        this.logSpace = new ReplicaLogSpace(logBudgetMin, journalFileSize, background, this::requestSnapshot);
        this.clients = clients;
        this.background = background;
        this.snapshots = new ReplicaSnapshots(node);
        this.snapshotRepair = new SnapshotBlockRepair(this, snapshots);
        this.scrub = new ReplicaScrub(this, repairer, background, new SnapshotCopyScrub(this, snapshots, snapshotRepair));
        this.snapshotCopies = new SnapshotCopyFetch(this, snapshots, rebuildBytesPerSecond);
    }

    @Override
    public void initialize(RaftServer server, RaftGroupId groupId, RaftStorage raftStorage) throws IOException {
        super.initialize(server, groupId, raftStorage);
        diskFull = new DiskFullWait(server.getId() + "@" + groupId);
        getLifeCycle().startAndTransition(() -> {
            storage.init(raftStorage);
            Path smDir = raftStorage.getStorageDir().getStateMachineDir().toPath();
            changes.open(smDir);
            logSpace.segmentSize(RaftServerConfigKeys.Log.segmentSizeMax(server.getProperties()).getSize());
            entryData.open(smDir.resolve("journal"), journalFileSize, () -> division().getRaftLog().getStartIndex(),
                    getId().toString());
            snapshots.init(raftStorage.getStorageDir().getStateMachineDir().toPath());
            scrub.open(smDir.resolve("scrub-record"), System.currentTimeMillis());
            for (String name : node.volumeNames()) {
                if (groupIdOf(name).equals(groupId)) {
                    openStore(name, 0);
                }
            }
            CheckpointFile latest = storage.latest();
            load(latest);
            loadGenerations(latest);
            repairer.open(smDir.resolve("integrity-record"));
        });
        snapshotCopies.start(FETCH_DELAY_AFTER_START_MS); // copies a stop interrupted, once the peers are likely up
    }

    /** How long after the replica opens it looks for snapshot copies it lacks (its group is starting). */
    private static final long FETCH_DELAY_AFTER_START_MS = 5_000;

    /** The region generations saved with the checkpoint {@code s} (or a uniform table at its index). */
    private void loadGenerations(CheckpointFile s) {
        LocalBlockStore st = store;
        if (st != null) {
            changes.load(st.size(), s == null ? 0 : s.termIndex().getIndex());
            logSpace.sized(st.size());
        }
    }

    /** Ratis pauses before installing a snapshot and requires PAUSED before {@link #reinitialize()}. */
    @Override
    public void pause() {
        StateMachinePause.pause(getLifeCycle());
    }

    /** After a rebuild: reload the snapshot the copier wrote (store already open). */
    @Override
    public void reinitialize() throws IOException {
        rebuilding = false;
        copyFloor.reloaded(); // the checkpoint loaded below is the copy's start
        handover.reloaded();
        getLifeCycle().startAndTransition(() -> {
            CheckpointFile s = storage.reload();
            if (s != null && store == null) {
                openStore(s.name(), 0);
            }
            load(s);
            if (!changes.tracking()) {
                loadGenerations(s);
            }
        });
        repairer.dropHealed(); // the rebuild copied healthy blocks over the known-bad ones
        snapshotCopies.start(0); // the copies of snapshots taken before the rebuild's start
    }

    private void load(CheckpointFile s) {
        if (s == null) {
            return;
        }
        synchronized (applyLock) {
            epoch = s.epoch();
            setLastAppliedTermIndex(s.termIndex());
        }
        waiters.advanced(s.termIndex().getIndex());
        LOG.info("{}: loaded checkpoint {} (epoch {})", getId(), s.termIndex(), s.epoch());
    }

    /** Opens the named volume, creating it with {@code createSize} when absent (0: never create). */
    @Override
    public synchronized LocalBlockStore openStore(String name, long createSize) {
        if (store == null) {
            volumeName = name;
            store = node.volumeNames().contains(name) || createSize == 0
                    ? node.openVolume(name)
                    : node.createVolume(name, createSize);
        }
        return store;
    }

    @Override
    public void copyStarts(long startIndex) {
        copyFloor.starts(startIndex);
    }

    /** The copy {@link #copyStarts} began has ended ({@link CopyFloor#ended}). */
    public void copyEnded(boolean succeeded) {
        copyFloor.ended(succeeded);
    }

    @Override
    public org.apache.ratis.conf.Parameters transport() {
        return tls.parameters();
    }

    @Override
    public ReentrantReadWriteLock repairGuard() {
        return repairGuard;
    }

    @Override
    public LocalBlockStore store() {
        LocalBlockStore s = store;
        if (s == null) {
            throw new BallastException(ErrorCode.FAILED_PRECONDITION, "volume replica not created yet on " + getId());
        }
        return s;
    }

    @Override
    public String volumeName() {
        return volumeName;
    }

    public NodeDirectory node() {
        return node;
    }

    public long epoch() {
        return epoch;
    }

    @Override
    public boolean rebuilding() {
        return rebuilding;
    }

    /**
     * This state machine's division, kept once found: Ratis drops a group from its server's map
     * before it closes the division, and meanwhile the division's own threads still call in here (a
     * checkpoint's log purge). A lookup failing there made Ratis's state machine updater catch the
     * exception and spin, never ending, so the group's removal waited on it for ever (seen in
     * ReplicaRecoveryTest's re-creation of a replica). Each division gets a state machine of its own,
     * so the one kept is always this one's.
     */
    @Override
    public RaftServer.Division division() {
        RaftServer.Division d = self;
        if (d != null) {
            return d;
        }
        try {
            d = getServer().join().getDivision(getGroupId());
        } catch (IOException e) {
            throw new BallastException(ErrorCode.UNAVAILABLE, "group " + getGroupId() + " is gone from " + getId(), e);
        }
        self = d;
        return d;
    }

    /** This replica's integrity counters and scrub progress. */
    public IntegrityStatus integrity() {
        long bad = repairer.unrepairableBlocks();
        Instant journalFull = entryData.journalFullSince();
        String journal = journalFull == null ? null
                : "disk full since " + journalFull + ": the Raft entry journal waits for space, this replica stores no new entries";
        // The first that applies: applying paused, storing paused, the log stuck, else checksums.
        String condition = Stream.of(diskFull.condition(), journal, logStuck).filter(Objects::nonNull).findFirst()
                .orElse(IntegrityStatus.condition(bad));
        return new IntegrityStatus(repairer.found(), repairer.repaired(), repairer.unrepairable(), bad, condition,
                scrub.running(), scrub.bytesDone(), scrub.bytesTotal(), scrub.completed(),
                scrub.record() == null ? 0 : scrub.record().lastCompletedMillis());
    }

    /** Bytes of large writes the store took from the entry journal by reference since it opened (0 where the filesystem cannot). */
    public long sharedBytes() {
        LocalBlockStore s = store;
        return s == null ? 0 : s.sharedBytes();
    }

    /** Entries whose data this replica keeps in its entry journal, not in the Raft log. */
    public int journaledEntries() {
        return entryData.journaledEntries();
    }

    /** Entries this replica read back from its entry journal (replay, catch-up of a follower). */
    public long journalReads() {
        return entryData.journalReads();
    }

    @Override
    public long appliedIndex() {
        TermIndex t = getLastAppliedTermIndex();
        return t == null ? -1 : t.getIndex();
    }

    /** Completes once this replica has applied {@code index} (read-your-writes). */
    public CompletableFuture<Void> waitApplied(long index) {
        return waiters.await(index);
    }

    @Override
    protected boolean updateLastAppliedTermIndex(long term, long index) {
        boolean updated;
        synchronized (applyLock) {
            updated = super.updateLastAppliedTermIndex(term, index);
        }
        waiters.advanced(index);
        return updated;
    }

    // ---- leader: validation --------------------------------------------------------------

    @Override
    public TransactionContext startTransaction(RaftClientRequest request) throws IOException {
        TransactionContext.Builder b = TransactionContext.newBuilder().setStateMachine(this).setClientRequest(request);
        try {
            ByteString content = request.getMessage().getContent();
            Entry e = decode(content);
            admission.check(e);
            if (e.kind() == KIND_OPS && VolumeEntryData.journaled(content)) {
                // The bytes go to the entry journal beside the Raft log (VolumeEntryData).
                b.setLogData(VolumeEntryData.reference(content)).setStateMachineData(content);
            }
            return b.build();
        } catch (BallastException e) {
            LOG.debug("{}: refused request: {}", getId(), e.toString());
            TransactionContext trx = b.build();
            trx.setException(RatisErrors.refusal(e));
            return trx;
        }
    }

    @Override
    public DataApi data() {
        return entryData;
    }

    // ---- every replica: apply ------------------------------------------------------------

    @Override
    public CompletableFuture<Message> applyTransaction(TransactionContext trx) {
        LogEntryProto entry = trx.getLogEntry();
        byte[] statuses;
        if (copyFloor.covers(entry.getIndex())) {
            copyFloor.awaitOutcome(); // outside the guard: the next copy's start takes its write side
        }
        Lock guard = repairGuard.readLock(); // uncontended but for a repair's single-block write
        guard.lock();
        try {
            if (copyFloor.covers(entry.getIndex())) {
                // A rebuild copied a state at least this new into the store (copyStarts).
                copyFloor.skipped();
                updateLastAppliedTermIndex(entry.getTerm(), entry.getIndex());
                return CompletableFuture.completedFuture(Message.valueOf(UnsafeByteOperations.unsafeWrap(reply(new byte[0]))));
            }
            ByteString logData = entry.getStateMachineLogEntry().getLogData();
            ByteString body = VolumeEntryData.isReference(logData) ? entryData.dataOf(entry) : logData;
            try (PlacedWrites placed = entryData.placed(entry)) {
                statuses = diskFull.apply(() -> apply(body, entry.getTerm(), entry.getIndex(), placed),
                        entry.getIndex());
            }
            long bytes = body.size() + (body == logData ? 0 : logData.size());
            logSpace.applied(entry.getIndex(), bytes);
            updateLastAppliedTermIndex(entry.getTerm(), entry.getIndex());
        } finally {
            guard.unlock();
        }
        return CompletableFuture.completedFuture(Message.valueOf(UnsafeByteOperations.unsafeWrap(reply(statuses))));
    }

    /** Applies one entry; {@code placed}: where the journal holds its large WRITE data, for the store to share. */
    private byte[] apply(ByteString data, long term, long index, PlacedWrites placed) {
        Entry e;
        try {
            e = decode(data);
        } catch (BallastException ex) {
            LOG.error("{}: ignoring undecodable log entry {}: {}", getId(), index, ex.toString());
            return new byte[] {ST_CORRUPT_ENTRY};
        }
        switch (e.kind()) {
            case KIND_CREATE, KIND_CREATE_CLONE -> {
                LocalBlockStore s = openStore(e.name(), e.size());
                if (s.size() < e.size()) {
                    s.resize(e.size());
                }
                changes.created(s.size(), index);
                logSpace.sized(s.size());
                if (e.kind() == KIND_CREATE_CLONE) {
                    snapshots.applyCloneOrigin(e.source());
                }
                return new byte[] {ST_OK};
            }
            case KIND_SNAPSHOT -> {
                return new byte[] {applySnapshotEntry(e, term, index)};
            }
            case KIND_DELETE_SNAPSHOT -> {
                return new byte[] {snapshots.applyDelete(volumeName, e.name(), index)};
            }
            case KIND_FILLED -> {
                return new byte[] {snapshots.applyFilled(e.source())};
            }
            case KIND_ATTACH -> {
                synchronized (applyLock) {
                    if (e.epoch() <= epoch) {
                        return new byte[] {ST_FENCED};
                    }
                    epoch = e.epoch();
                }
                LOG.info("{}: volume {} attached with writer epoch {} at index {}", getId(), volumeName, e.epoch(), index);
                return new byte[] {ST_OK};
            }
            case KIND_OPS -> {
                byte[] st = new byte[e.ops().size()];
                if (e.epoch() != epoch) {
                    java.util.Arrays.fill(st, ST_FENCED);
                    return st;
                }
                LocalBlockStore s = store();
                RegionGenerations g = changes.forApply(s.size(), index);
                int writes = 0; // WRITE records with data so far: how the journal counts its placed data
                for (int i = 0; i < st.length; i++) {
                    Op op = e.ops().get(i);
                    boolean withData = op.type() == OP_WRITE && op.length() > 0;
                    st[i] = BlockOps.apply(s, op, withData ? placed.of(writes++) : null);
                    if (op.type() == OP_RESIZE) {
                        g.grown(s.size(), index);
                        logSpace.sized(s.size());
                    } else {
                        g.written(op.offset(), op.length(), index);
                    }
                }
                return st;
            }
            default -> {
                return new byte[] {ST_INVALID};
            }
        }
    }

    /**
     * SNAPSHOT at {@code index}: the local copy (see {@link ReplicaSnapshots}), then a Raft snapshot
     * recorded at this index (store checkpointed + snapshot file), so that a restart replays only
     * entries after it: replaying the SNAPSHOT itself over a store that already holds later writes
     * (all a restart from an older Raft snapshot would have) could not produce the state at index.
     */
    private byte applySnapshotEntry(Entry e, long term, long index) {
        LocalBlockStore s = store();
        byte status = snapshots.applySnapshot(s, e.name(), e.size(), index);
        if (status == ST_OK) {
            s.checkpoint();
            try {
                changes.save();
                storage.write(new CheckpointFile(TermIndex.valueOf(term, index), epoch, volumeName));
            } catch (IOException ex) {
                throw new BallastException(ErrorCode.IO_ERROR, "record the Raft snapshot at " + index + ": " + ex, ex);
            }
        }
        return status;
    }

    // ---- queries (rebuild source) --------------------------------------------------------

    @Override
    public CompletableFuture<Message> query(Message request) {
        return ReplicaQueries.answer(this, request);
    }

    /** The applied (term, index) with the size, epoch and snapshot registry at that point, as one record. */
    Info currentInfo() {
        synchronized (applyLock) {
            TermIndex t = getLastAppliedTermIndex();
            return new Info(volumeName, store().size(), t.getTerm(), t.getIndex(), epoch, snapshots.encodeRegistry());
        }
    }

    // ---- snapshots -----------------------------------------------------------------------

    @Override
    public StateMachineStorage getStateMachineStorage() {
        return storage;
    }

    /** Asks Ratis for a snapshot now ({@link io.ballast.replication.checkpoint.CheckpointTrigger CheckpointTrigger}); blocking, on the background pool. */
    private void requestSnapshot() {
        try {
            if (LocalSnapshotRequest.create(division(), 60_000) == LocalSnapshotRequest.Outcome.SUPERSEDED) {
                LOG.debug("{}: checkpoint request timed out by an earlier one's timer (asked again later)", getId());
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (IOException | RuntimeException e) {
            LOG.warn("{}: checkpoint after {} bytes of log failed (asked again later): {}", getId(),
                    logSpace.bytesSinceCheckpoint(), e.toString());
        }
    }

    @Override
    public long takeSnapshot() throws IOException {
        logSpace.checkpointTaken();
        TermIndex last = getLastAppliedTermIndex();
        LocalBlockStore s = store;
        if (last == null || s == null) {
            return -1;
        }
        if (copyFloor.active()) {
            // A rebuild's copy runs or awaits its reload: the store does not hold the applied
            // index's state (copyStarts), so it must not be checkpointed as holding it.
            return -1;
        }
        s.checkpoint(); // data + checksums durable: the log up to `last` may now be purged
        changes.save(); // at least as new as the store: see RegionGenerations
        storage.write(new CheckpointFile(last, epoch, volumeName));
        try {
            logSpace.purgeAfterCheckpoint(last.getIndex(), division().getRaftLog(), getId());
        } catch (RuntimeException e) {
            // The division is closing (its log closed under us): the checkpoint stands, and the next
            // one purges. Thrown from here, Ratis's updater would spin instead of stopping.
            LOG.debug("{}: log purge after the checkpoint at {} skipped: {}", getId(), last, e.toString());
        }
        entryData.releaseDeadFiles(); // what the previous purges freed, also when no large write comes to rotate the journal
        // Debug: under steady writes a checkpoint comes every few hundred milliseconds.
        LOG.debug("{}: checkpoint at {} (epoch {})", getId(), last, epoch);
        return last.getIndex();
    }

    @Override
    public CompletableFuture<TermIndex> notifyInstallSnapshotFromLeader(RoleInfoProto roleInfo, TermIndex firstAvailable) {
        var leader = org.apache.ratis.protocol.RaftPeerId.valueOf(roleInfo.getFollowerInfo().getLeaderInfo().getId().getId());
        // Ratis asks when its log no longer holds our next entry, and always for a bootstrapping
        // (newly added) peer, even with the log intact.
        LOG.info("{}: leader {} asks for a snapshot install (Ratis's word; its first log entry: {}): rebuilding from it", getId(), leader, firstAvailable);
        try {
            refuseWhileJournalWaits("start");
        } catch (BallastException e) {
            LOG.warn("{}: rebuild refused (the leader will ask again): {}", getId(), e.getMessage());
            return CompletableFuture.failedFuture(e);
        }
        // Incremental when this replica's store holds a known applied state: only the regions the
        // leader changed since are copied (RegionGenerations). Else (new, wiped) every block.
        long since = store != null && changes.tracking() ? changes.storeIndex(appliedIndex()) : -1;
        rebuilding = true;
        return CompletableFuture.supplyAsync(() -> {
            try {
                RaftGroup group = getServer().join().getDivision(getGroupId()).getGroup();
                if (group.getPeers().isEmpty()) {
                    // A restarted follower that has not applied its group's configuration entry yet
                    // knows no peers (Ratis: "newPeers is empty"); the asking leader is all a copy needs.
                    group = RaftGroup.valueOf(getGroupId(), org.apache.ratis.protocol.RaftPeer.newBuilder().setId(leader)
                            .setAddress(roleInfo.getFollowerInfo().getLeaderInfo().getId().getAddress()).build());
                }
                try (RaftClient client = clients.apply(group)) {
                    changes.copyStarting();
                    BlockCopier.Copied copied = new BlockCopier(client, leader, rebuild, rebuildBytesPerSecond)
                            .copy(this, since);
                    Info info = copied.start();
                    changes.adopt(copied);
                    logSpace.sized(info.size());
                    snapshots.adoptFromLeader(info.name(), info.registry(), copied.fence());
                    synchronized (applyLock) {
                        epoch = info.epoch();
                    }
                    TermIndex ti = TermIndex.valueOf(info.term(), info.index());
                    refuseWhileJournalWaits("finish");
                    storage.write(new CheckpointFile(ti, info.epoch(), info.name()));
                    long skipped = copyFloor.skippedCount();
                    LOG.info("{}: rebuild from {} done, the store now at {}{}", getId(), leader, ti,
                            skipped == 0 ? "" : " (" + skipped + " entries of this replica's own log, at or below it, applied meanwhile without a store write)");
                    copyEnded(true);
                    handover.rebuilt(ti);
                    return ti;
                }
            } catch (IOException e) {
                throw new BallastException(ErrorCode.UNAVAILABLE, "rebuild from " + leader + " failed", e);
            }
        }, background).whenComplete((ti, t) -> {
            if (t != null) {
                // Repairs may resume: a copy they write is at least as new as the applied index, and
                // the next rebuild (the leader asks again) or log replay supersedes it anyway.
                rebuilding = false;
                // Applies write the store again: the applied index must keep describing it. A block
                // the copy wrote holds a newer state; the next rebuild's changed regions cover it.
                copyEnded(false);
                LOG.warn("{}: rebuild failed (the leader will ask again): {}", getId(), t.toString());
            }
        });
    }

    /**
     * UNAVAILABLE while the entry journal waits for disk space. Ratis's log worker then waits on the
     * journal's write of an entry; a rebuild that finished meanwhile would move the log past that
     * entry, and when space returned the worker would fail on it for good ("lastWrittenIndex ==")
     * and close the division (DiskFullIT). A rebuild could not store its state on that disk either.
     * The leader asks again, and once the journal is writing, the rebuild goes ahead.
     */
    private void refuseWhileJournalWaits(String when) {
        Instant full = entryData.journalFullSince();
        if (full != null) {
            throw new BallastException(ErrorCode.UNAVAILABLE, "a rebuild cannot " + when + " while the entry journal waits "
                    + "for disk space (since " + full + "): free space on the node's raft directory");
        }
    }

    /** The regions changed after {@code index} here (QUERY_CHANGED, an incremental rebuild's question). */
    RegionGenerations.Changed changedSince(long index) {
        return changes.changedSince(index);
    }

    /** This replica's log space rule (status, tests). */
    public LogBudget logBudget() {
        return logSpace.budget();
    }

    /**
     * Ratis calls this when the group is removed from this node (after {@link #close()}, before it
     * deletes the group's Raft directory): the replica's block store goes too. Without its group a
     * store would never be served or updated again, and a later re-add must start from an empty
     * replica (a rebuild), not from stale blocks.
     */
    @Override
    public void notifyGroupRemove() {
        String name = volumeName;
        if (name == null || keepReplicaOnRemove) {
            return;
        }
        try {
            node.deleteVolume(name);
            LOG.info("{}: group removed, replica of {} deleted", getId(), name);
        } catch (BallastException e) {
            LOG.error("{}: group removed but the replica of {} could not be deleted: {}", getId(), name, e.toString());
        }
    }

    /** Null, or since when this replica's entry journal waits for disk space. */
    public Instant journalFullSince() {
        return entryData.journalFullSince();
    }

    /** Set by {@link io.ballast.replication.StuckLogWatchdog StuckLogWatchdog} while this replica's Raft log is stuck (the volume condition says so). */
    public void logStuck(String condition) {
        logStuck = condition;
    }

    /** The next removal of this group is a restart: keep the replica's store ({@link RebuildHandover}). */
    public void keepReplicaOnRemove(boolean keep) {
        keepReplicaOnRemove = keep;
    }

    @Override
    public void close() throws IOException {
        snapshotCopies.stop();
        LocalBlockStore s;
        synchronized (this) {
            s = store;
            store = null;
        }
        if (s != null) {
            long applied = appliedIndex();
            s.close(); // fsyncs data and checksums; throws, writing no mark, if it cannot
            if (!keepReplicaOnRemove && !copyFloor.active()) { // during a copy the store is not at the applied index
                changes.stoppedCleanly(applied);
            }
        }
        entryData.close();
        BallastException closed = new BallastException(ErrorCode.UNAVAILABLE, "replica closed");
        waiters.failAll(closed);
        getLifeCycle().checkStateAndClose();
        super.close();
    }
}
