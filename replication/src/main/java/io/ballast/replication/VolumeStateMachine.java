package io.ballast.replication;

import io.ballast.replication.ratis.RatisErrors;
import static io.ballast.replication.VolumeLogLayout.*;

import io.ballast.engine.error.BallastException;
import io.ballast.engine.error.ErrorCode;
import io.ballast.engine.store.LocalBlockStore;
import io.ballast.engine.store.NodeDirectory;
import io.ballast.replication.space.SpaceGuard;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
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
 *   ({@link SnapshotFile}) holding the writer epoch, in the Ratis state machine directory.
 *   <li><b>Rebuild</b> (a follower behind the leader's purged log):
 *   {@link #notifyInstallSnapshotFromLeader} runs {@link SnapshotCopier}: a block copy from the
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
 * <p>The volume's store is found by name: the group id is {@link RaftNode#groupIdOf} the name.
 * It is opened in {@link #initialize}, created on applying CREATE or by a rebuild.
 *
 * <p>Size: over 450 lines because Ratis's StateMachine contract is one class whose hooks
 * (initialize, pause/reinitialize, startTransaction, apply, query, snapshot, install) share the
 * (epoch, applied index) pair under one lock; jobs with state of their own live beside it
 * ({@link AppliedIndexWaiters}, {@link ReplicaLogSpace}, {@link RegionGenerations}, {@link BlockRepairer},
 * {@link ReplicaScrub}, {@link ReplicaSnapshots}, {@link SnapshotCopier}, {@link VolumeEntryData}). Next to move out: the
 * rebuild hand-over in {@link #notifyInstallSnapshotFromLeader}.
 */
final class VolumeStateMachine extends BaseStateMachine {
    private static final Logger LOG = LoggerFactory.getLogger(VolumeStateMachine.class);
    static final int MAX_READ = ReplicaQueries.MAX_READ;
    private final long journalFileSize;
    private final long rebuildBytesPerSecond;
    /** Keeps the Raft log and entry journal within their budget. */
    private final ReplicaLogSpace logSpace;
    /** Changed-block tracking for incremental rebuilds; null until the store exists here. */
    private volatile RegionGenerations generations;
    private Path generationsFile;
    /**
     * Written at a clean close, after the store's final fsync: the applied index the store then
     * held durably ({@link CleanStopMark}). Read and deleted at the next start.
     */
    private Path cleanStopFile;
    /** The clean stop's applied index, valid while nothing has been applied since the start; else -1. */
    private volatile long cleanStopIndex = -1;
    /** The index of the checkpoint this replica started from (-1: none). */
    private volatile long startIndex = -1;

    private final NodeDirectory node;
    private final Function<RaftGroup, RaftClient> clients;
    private final Executor background;
    private final SnapshotFile.Storage storage = new SnapshotFile.Storage();
    /** Guards (epoch, lastApplied) so the rebuild info is a consistent pair. */
    private final Object applyLock = new Object();
    private final AppliedIndexWaiters waiters = new AppliedIndexWaiters(this::appliedIndex);

    private volatile LocalBlockStore store;
    private volatile String volumeName;
    private volatile long epoch;
    /** Highest ATTACH epoch admitted by startTransaction here (early fencing on the leader). */
    private long admittedEpoch;
    final SnapshotCopier.Progress rebuild = new SnapshotCopier.Progress();
    private final VolumeEntryData entryData = new VolumeEntryData();
    private DiskFullWait diskFull = new DiskFullWait("volume group");
    /**
     * Read side: held by an apply from its first store write until its applied index is raised.
     * Write side: held by a repair while it checks the applied index and writes a fetched block
     * ({@link BlockRepairer} explains why this keeps an older copy from overwriting a newer write).
     */
    final ReentrantReadWriteLock repairGuard = new ReentrantReadWriteLock();
    final BlockRepairer repairer = new BlockRepairer(this);
    final ReplicaScrub scrub;
    final ReplicaSnapshots snapshots;
    /** A rebuild is copying blocks: the applied index says nothing about them, so no repairs. */
    private volatile boolean rebuilding;

    /** Restarts this replica's division (see {@link RebuildHandover}); false when it cannot now. */
    interface DivisionRestarter {
        boolean restart(RaftGroupId group, String why);
    }

    private final RebuildHandover handover;
    /** Set before a division restart: the group goes away and comes back, its replica stays. */
    private volatile boolean keepReplicaOnRemove;
    /** Why this replica's Raft log is stuck, or null ({@link StuckLogWatchdog}). */
    private volatile String logStuck;

    /** Refuses writes on this leader when its disk or a majority of the group's are full. */
    private final SpaceGuard space;

    VolumeStateMachine(NodeDirectory node, Function<RaftGroup, RaftClient> clients, Executor background,
            long logBudgetMin, long journalFileSize, long rebuildBytesPerSecond, DivisionRestarter restarter,
            SpaceGuard space) {
        this.space = space;
        this.journalFileSize = journalFileSize;
        this.rebuildBytesPerSecond = rebuildBytesPerSecond;
        this.handover = new RebuildHandover(() -> getId() + " (" + volumeName + ")", background,
                RebuildHandover.GRACE_MILLIS, () -> restarter.restart(getGroupId(), "rebuild not reloaded"));
        this.node = node;
        this.logSpace = new ReplicaLogSpace(logBudgetMin, journalFileSize, background, this::requestSnapshot);
        this.clients = clients;
        this.background = background;
        this.scrub = new ReplicaScrub(this, repairer, background);
        this.snapshots = new ReplicaSnapshots(node);
    }

    @Override
    public void initialize(RaftServer server, RaftGroupId groupId, RaftStorage raftStorage) throws IOException {
        super.initialize(server, groupId, raftStorage);
        diskFull = new DiskFullWait(server.getId() + "@" + groupId);
        getLifeCycle().startAndTransition(() -> {
            storage.init(raftStorage);
            Path smDir = raftStorage.getStorageDir().getStateMachineDir().toPath();
            generationsFile = smDir.resolve("regions");
            cleanStopFile = smDir.resolve("clean-stop");
            cleanStopIndex = CleanStopMark.take(cleanStopFile);
            logSpace.segmentSize(RaftServerConfigKeys.Log.segmentSizeMax(server.getProperties()).getSize());
            entryData.open(smDir.resolve("journal"), journalFileSize, () -> division().getRaftLog().getStartIndex(),
                    getId().toString());
            snapshots.init(raftStorage.getStorageDir().getStateMachineDir().toPath());
            for (String name : node.volumeNames()) {
                if (RaftNode.groupIdOf(name).equals(groupId)) {
                    openStore(name, 0);
                }
            }
            SnapshotFile latest = storage.latest();
            load(latest);
            loadGenerations(latest);
            startIndex = appliedIndex();
        });
    }

    /** The region generations saved with the checkpoint {@code s} (or a uniform table at its index). */
    private void loadGenerations(SnapshotFile s) {
        LocalBlockStore st = store;
        if (st != null) {
            generations = RegionGenerations.load(generationsFile, st.size(), s == null ? 0 : s.termIndex().getIndex());
            logSpace.sized(st.size());
        }
    }

    /** Ratis pauses before installing a snapshot and requires PAUSED before {@link #reinitialize()}. */
    @Override
    public void pause() {
        if (getLifeCycle().getCurrentState() == org.apache.ratis.util.LifeCycle.State.RUNNING) {
            getLifeCycle().transition(org.apache.ratis.util.LifeCycle.State.PAUSING);
            getLifeCycle().transition(org.apache.ratis.util.LifeCycle.State.PAUSED);
        }
    }

    /** After a rebuild: reload the snapshot the copier wrote (store already open). */
    @Override
    public void reinitialize() throws IOException {
        rebuilding = false;
        handover.reloaded();
        getLifeCycle().startAndTransition(() -> {
            SnapshotFile s = storage.reload();
            if (s != null && store == null) {
                openStore(s.name(), 0);
            }
            load(s);
            if (generations == null) {
                loadGenerations(s);
            }
        });
    }

    private void load(SnapshotFile s) {
        if (s == null) {
            return;
        }
        synchronized (applyLock) {
            epoch = s.epoch();
            setLastAppliedTermIndex(s.termIndex());
        }
        waiters.advanced(s.termIndex().getIndex());
        LOG.info("{}: loaded snapshot {} (epoch {})", getId(), s.termIndex(), s.epoch());
    }

    /** Opens the named volume, creating it with {@code createSize} when absent (0: never create). */
    synchronized LocalBlockStore openStore(String name, long createSize) {
        if (store == null) {
            volumeName = name;
            store = node.volumeNames().contains(name) || createSize == 0
                    ? node.openVolume(name)
                    : node.createVolume(name, createSize);
        }
        return store;
    }

    LocalBlockStore store() {
        LocalBlockStore s = store;
        if (s == null) {
            throw new BallastException(ErrorCode.FAILED_PRECONDITION, "volume replica not created yet on " + getId());
        }
        return s;
    }

    String volumeName() {
        return volumeName;
    }

    NodeDirectory node() {
        return node;
    }

    long epoch() {
        return epoch;
    }

    boolean rebuilding() {
        return rebuilding;
    }

    RaftServer.Division division() {
        try {
            return getServer().join().getDivision(getGroupId());
        } catch (IOException e) {
            throw new BallastException(ErrorCode.UNAVAILABLE, "group " + getGroupId() + " is gone from " + getId(), e);
        }
    }

    /** This replica's integrity counters and scrub progress. */
    IntegrityStatus integrity() {
        long bad = repairer.unrepairableBlocks();
        Instant journalFull = entryData.journalFullSince();
        String journal = journalFull == null ? null
                : "disk full since " + journalFull + ": the Raft entry journal waits for space, this replica stores no new entries";
        // The first that applies: applying paused, storing paused, the log stuck, else checksums.
        String condition = Stream.of(diskFull.condition(), journal, logStuck).filter(Objects::nonNull).findFirst()
                .orElse(IntegrityStatus.condition(bad));
        return new IntegrityStatus(repairer.found(), repairer.repaired(), repairer.unrepairable(), bad, condition,
                scrub.running(), scrub.bytesDone(), scrub.bytesTotal(), scrub.completed());
    }

    /** Entries whose data this replica keeps in its entry journal, not in the Raft log. */
    int journaledEntries() {
        return entryData.journaledEntries();
    }

    /** Entries this replica read back from its entry journal (replay, catch-up of a follower). */
    long journalReads() {
        return entryData.journalReads();
    }

    long appliedIndex() {
        TermIndex t = getLastAppliedTermIndex();
        return t == null ? -1 : t.getIndex();
    }

    /** Completes once this replica has applied {@code index} (read-your-writes). */
    CompletableFuture<Void> waitApplied(long index) {
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
            Entry e = decode(content.asReadOnlyByteBuffer());
            validate(e);
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

    /**
     * Refuses a write entry on a full disk ({@link SpaceGuard}): NO_SPACE when a majority of the
     * members are full, UNAVAILABLE while only this leader is. Trims and flushes are not checked
     * (they free space or need none), so a filesystem above can delete files and discard their
     * blocks to make room.
     */
    private void refuseWhenFull() {
        if (!space.anyFull()) {
            return; // the common case, on every write entry: no member list to build
        }
        List<String> members = new ArrayList<>();
        division().getRaftConf().getCurrentPeers().forEach(p -> members.add(p.getId().toString()));
        SpaceGuard.Refusal no = space.refusal(members);
        if (no != null && no.moveLeadership()) {
            // UNAVAILABLE: the client retries while FullLeaderHandoff moves the leadership.
            throw new BallastException(ErrorCode.UNAVAILABLE, "volume " + volumeName + ": " + no.why());
        }
        if (no != null) {
            throw new BallastException(ErrorCode.NO_SPACE, "volume " + volumeName + " takes no writes now: " + no.why()
                    + "; free space there (trims still pass), or raise --full-ratio");
        }
    }

    @Override
    public DataApi data() {
        return entryData;
    }

    private void validate(Entry e) {
        switch (e.kind()) {
            case KIND_CREATE, KIND_CREATE_CLONE -> {
                if (e.kind() == KIND_CREATE_CLONE) {
                    ReplicaSnapshots.checkSource(e.source());
                }
                if (!RaftNode.groupIdOf(e.name()).equals(getGroupId())) {
                    throw new BallastException(ErrorCode.INVALID_ARGUMENT, "volume " + e.name() + " is not group " + getGroupId());
                }
                if (e.size() <= 0 || e.size() % LocalBlockStore.BLOCK_SIZE != 0 || e.size() > LocalBlockStore.MAX_SIZE) {
                    throw new BallastException(ErrorCode.OUT_OF_RANGE, "bad volume size " + e.size());
                }
            }
            case KIND_ATTACH -> {
                synchronized (this) {
                    long current = Math.max(epoch, admittedEpoch);
                    if (e.epoch() <= current) {
                        throw new BallastException(ErrorCode.FAILED_PRECONDITION,
                                "writer epoch " + e.epoch() + " is not above the volume's epoch " + current);
                    }
                    admittedEpoch = e.epoch();
                }
            }
            case KIND_OPS -> {
                long current;
                synchronized (this) {
                    current = Math.max(epoch, admittedEpoch);
                }
                if (e.epoch() != current) {
                    throw new BallastException(ErrorCode.FAILED_PRECONDITION, "fenced: writer epoch " + e.epoch()
                            + (e.epoch() < current ? " was superseded by " : " is not attached; current is ") + current);
                }
                long size = store().size();
                boolean takesSpace = false;
                for (Op op : e.ops()) {
                    BlockOps.checkRange(op, size);
                    takesSpace |= op.type() == VolumeLogLayout.OP_WRITE || op.type() == VolumeLogLayout.OP_ZEROES;
                }
                if (takesSpace) {
                    refuseWhenFull();
                }
            }
            case KIND_SNAPSHOT -> {
                store(); // FAILED_PRECONDITION before the volume's CREATE applied here
                snapshots.checkNew(volumeName, e.name());
            }
            case KIND_DELETE_SNAPSHOT -> io.ballast.engine.store.VolumeSnapshots.checkId(e.name());
            case KIND_FILLED -> snapshots.checkFilled(volumeName, e.source());
            default -> throw new BallastException(ErrorCode.INVALID_ARGUMENT, "entry kind " + e.kind() + " is not a transaction");
        }
    }

    // ---- every replica: apply ------------------------------------------------------------

    @Override
    public CompletableFuture<Message> applyTransaction(TransactionContext trx) {
        LogEntryProto entry = trx.getLogEntry();
        byte[] statuses;
        Lock guard = repairGuard.readLock(); // uncontended but for a repair's single-block write
        guard.lock();
        try {
            ByteString logData = entry.getStateMachineLogEntry().getLogData();
            ByteString body = VolumeEntryData.isReference(logData) ? entryData.dataOf(entry) : logData;
            statuses = diskFull.apply(() -> apply(body.asReadOnlyByteBuffer(), entry.getTerm(), entry.getIndex()),
                    entry.getIndex());
            long bytes = body.size() + (body == logData ? 0 : logData.size());
            logSpace.applied(entry.getIndex(), bytes);
            updateLastAppliedTermIndex(entry.getTerm(), entry.getIndex());
        } finally {
            guard.unlock();
        }
        return CompletableFuture.completedFuture(Message.valueOf(UnsafeByteOperations.unsafeWrap(reply(statuses))));
    }

    private byte[] apply(ByteBuffer data, long term, long index) {
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
                if (generations == null) {
                    generations = RegionGenerations.uniform(s.size(), index);
                } else {
                    generations.grown(s.size(), index);
                }
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
                RegionGenerations g = generations;
                if (g == null) { // a store opened by a copy that failed: every region counts as changed here
                    g = generations = RegionGenerations.uniform(s.size(), index);
                }
                for (int i = 0; i < st.length; i++) {
                    Op op = e.ops().get(i);
                    st[i] = BlockOps.apply(s, op);
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
                RegionGenerations g = generations;
                if (g != null) {
                    g.save(generationsFile);
                }
                storage.write(new SnapshotFile(TermIndex.valueOf(term, index), epoch, volumeName));
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

    /** Asks Ratis for a snapshot now ({@link LogGrowthTrigger}); blocking, on the background pool. */
    private void requestSnapshot() {
        try (RaftClient client = clients.apply(division().getGroup())) {
            client.getSnapshotManagementApi(getId()).create(1, 60_000);
        } catch (IOException | RuntimeException e) {
            LOG.warn("{}: snapshot after {} bytes of log failed (asked again later): {}", getId(),
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
        s.checkpoint(); // data + checksums durable: the log up to `last` may now be purged
        RegionGenerations g = generations;
        if (g != null) {
            g.save(generationsFile); // at least as new as the store: see RegionGenerations
        }
        storage.write(new SnapshotFile(last, epoch, volumeName));
        logSpace.purgeAfterCheckpoint(last.getIndex(), division().getRaftLog(), getId());
        entryData.releaseDeadFiles(); // what the previous purges freed, also when no large write comes to rotate the journal
        LOG.info("{}: snapshot at {} (epoch {})", getId(), last, epoch);
        return last.getIndex();
    }

    @Override
    public CompletableFuture<TermIndex> notifyInstallSnapshotFromLeader(RoleInfoProto roleInfo, TermIndex firstAvailable) {
        var leader = org.apache.ratis.protocol.RaftPeerId.valueOf(roleInfo.getFollowerInfo().getLeaderInfo().getId().getId());
        // Ratis asks when its log no longer holds our next entry, and always for a bootstrapping
        // (newly added) peer, even with the log intact.
        LOG.info("{}: leader {} asks for a snapshot install (its first log entry: {}): rebuilding from it", getId(), leader, firstAvailable);
        // Incremental when this replica's store holds a known applied state: only the regions the
        // leader changed since are copied (RegionGenerations). Else (new, wiped) every block.
        long since = store != null && generations != null ? storeIndex() : -1;
        rebuilding = true;
        return CompletableFuture.supplyAsync(() -> {
            try {
                RaftGroup group = getServer().join().getDivision(getGroupId()).getGroup();
                try (RaftClient client = clients.apply(group)) {
                    SnapshotCopier.Copied copied = new SnapshotCopier(client, leader, rebuild, rebuildBytesPerSecond)
                            .copy(this, since);
                    Info info = copied.start();
                    adoptGenerations(copied);
                    snapshots.adoptFromLeader(info.name(), info.registry(), copied.fence());
                    synchronized (applyLock) {
                        epoch = info.epoch();
                    }
                    TermIndex ti = TermIndex.valueOf(info.term(), info.index());
                    storage.write(new SnapshotFile(ti, info.epoch(), info.name()));
                    LOG.info("{}: rebuilt {} bytes from {} up to {}", getId(), info.size(), leader, ti);
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
                LOG.warn("{}: rebuild failed (the leader will ask again): {}", getId(), t.toString());
            }
        });
    }

    /**
     * After a copy from T0: copied regions reflect at least T0 (a full copy: every region), the
     * others kept their state and generation. Saved before the snapshot file that names T0.
     */
    private void adoptGenerations(SnapshotCopier.Copied copied) throws IOException {
        Info info = copied.start();
        if (copied.incremental() && generations != null) {
            for (long[] r : SnapshotCopier.ranges(copied.changed(), info.size())) {
                generations.written(r[0], r[1] - r[0], info.index());
            }
            generations.grown(info.size(), info.index());
        } else {
            generations = RegionGenerations.uniform(info.size(), info.index());
        }
        logSpace.sized(info.size());
        generations.save(generationsFile);
        cleanStopIndex = -1; // the store holds the copy now
    }

    /**
     * An index whose state the store holds at least: the applied index, or, when this replica
     * stopped cleanly and has applied nothing since it started, the applied index at that stop (a
     * restart loads only its last checkpoint; without this an incremental rebuild after a reboot
     * would copy every region changed since that checkpoint, up to a checkpoint interval's worth).
     */
    private long storeIndex() {
        long applied = appliedIndex();
        long stop = cleanStopIndex;
        return applied == startIndex && stop > applied ? stop : applied;
    }

    /** The regions changed after {@code index} here (QUERY_CHANGED, an incremental rebuild's question). */
    RegionGenerations.Changed changedSince(long index) {
        RegionGenerations g = generations;
        if (g == null) {
            throw new BallastException(ErrorCode.FAILED_PRECONDITION, "volume replica not created yet on " + getId());
        }
        return g.changedSince(index);
    }

    /** This replica's log space rule (status, tests). */
    LogBudget logBudget() {
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
    Instant journalFullSince() {
        return entryData.journalFullSince();
    }

    /** Set by {@link StuckLogWatchdog} while this replica's Raft log is stuck (the volume condition says so). */
    void logStuck(String condition) {
        logStuck = condition;
    }

    /** The next removal of this group is a restart: keep the replica's store ({@link RebuildHandover}). */
    void keepReplicaOnRemove(boolean keep) {
        keepReplicaOnRemove = keep;
    }

    @Override
    public void close() throws IOException {
        LocalBlockStore s;
        synchronized (this) {
            s = store;
            store = null;
        }
        if (s != null) {
            long applied = appliedIndex();
            s.close(); // fsyncs data and checksums; throws, writing no mark, if it cannot
            if (cleanStopFile != null && applied >= 0 && !keepReplicaOnRemove) {
                CleanStopMark.write(cleanStopFile, applied);
            }
        }
        entryData.close();
        BallastException closed = new BallastException(ErrorCode.UNAVAILABLE, "replica closed");
        waiters.failAll(closed);
        getLifeCycle().checkStateAndClose();
        super.close();
    }
}
