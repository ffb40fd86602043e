package io.ballast.replication.catalog;

import io.ballast.engine.error.ErrorCode;
import io.ballast.proto.v1.CatalogCommand;
import io.ballast.proto.v1.CatalogReply;
import io.ballast.proto.v1.CatalogState;
import io.ballast.replication.ratis.StateMachinePause;
import java.io.File;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.CompletableFuture;
import java.util.function.Function;
import org.apache.ratis.client.RaftClient;
import org.apache.ratis.proto.RaftProtos.RoleInfoProto;
import org.apache.ratis.protocol.Message;
import org.apache.ratis.protocol.RaftClientReply;
import org.apache.ratis.protocol.RaftGroup;
import org.apache.ratis.protocol.RaftGroupId;
import org.apache.ratis.protocol.RaftPeerId;
import org.apache.ratis.server.RaftServer;
import org.apache.ratis.server.protocol.TermIndex;
import org.apache.ratis.server.storage.FileInfo;
import org.apache.ratis.server.storage.RaftStorage;
import org.apache.ratis.statemachine.StateMachineStorage;
import org.apache.ratis.statemachine.TransactionContext;
import org.apache.ratis.statemachine.impl.BaseStateMachine;
import org.apache.ratis.statemachine.impl.SimpleStateMachineStorage;
import org.apache.ratis.statemachine.impl.SingleFileSnapshotInfo;
import org.apache.ratis.thirdparty.com.google.protobuf.ByteString;
import org.apache.ratis.thirdparty.com.google.protobuf.UnsafeByteOperations;
import org.apache.ratis.util.MD5FileUtil;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The catalog group's Ratis state machine: each committed entry is a {@link CatalogCommand}
 * applied to a {@link Catalog}; the reply is the {@link CatalogReply}. Queries answer the whole
 * {@link CatalogState} (the catalog is small: nodes, volumes, snapshots).
 *
 * <p>Snapshots: the state as one protobuf file (Ratis's single-file storage with an MD5 file).
 * A follower that fell behind the leader's purged log (Ratis's snapshot shipping is off on
 * Ballast servers: volumes rebuild by block copy) fetches the state with a query
 * ({@link #QUERY_STATE_AT}) and stores it as its snapshot.
 */
public final class CatalogStateMachine extends BaseStateMachine {
    /** The catalog's Raft group id: one catalog per cluster, a name-based UUID the same on every node. */
    public static RaftGroupId groupIdOf(String clusterId) {
        return RaftGroupId.valueOf(java.util.UUID.nameUUIDFromBytes(
                ("ballast-catalog:" + clusterId).getBytes(java.nio.charset.StandardCharsets.UTF_8)));
    }

    private static final Logger LOG = LoggerFactory.getLogger(CatalogStateMachine.class);
    /** Query: the state only. */
    static final byte QUERY_STATE = 'S';
    /** Query: term (8) + index (8) of the last applied entry, then the state. */
    static final byte QUERY_STATE_AT = 'T';

    private final Catalog catalog = new Catalog();
    private final SimpleStateMachineStorage storage = new SimpleStateMachineStorage();
    private final Function<RaftGroup, RaftClient> clients;

    public CatalogStateMachine(Function<RaftGroup, RaftClient> clients) {
        this.clients = clients;
    }

    @Override
    public void initialize(RaftServer server, RaftGroupId groupId, RaftStorage raftStorage) throws IOException {
        super.initialize(server, groupId, raftStorage);
        getLifeCycle().startAndTransition(() -> {
            storage.init(raftStorage);
            load(storage.loadLatestSnapshot());
        });
    }

    /**
     * Ratis pauses the state machine before it takes in a leader's state and requires PAUSED
     * before {@link #reinitialize()} (without this a new member's catalog replica stopped at its
     * first install: found when catalog members became replaceable).
     */
    @Override
    public void pause() {
        StateMachinePause.pause(getLifeCycle());
    }

    @Override
    public void reinitialize() throws IOException {
        getLifeCycle().startAndTransition(() -> load(storage.loadLatestSnapshot()));
    }

    private void load(SingleFileSnapshotInfo snapshot) throws IOException {
        if (snapshot == null) {
            return;
        }
        File f = snapshot.getFile().getPath().toFile();
        if (!f.exists()) {
            LOG.warn("catalog snapshot {} is missing; starting from the log", f);
            return;
        }
        MD5FileUtil.verifySavedMD5(f, MD5FileUtil.readStoredMd5ForFile(f));
        synchronized (catalog) {
            catalog.restore(CatalogState.parseFrom(Files.readAllBytes(f.toPath())));
            updateLastAppliedTermIndex(snapshot.getTerm(), snapshot.getIndex());
        }
        LOG.info("catalog loaded from snapshot {}", snapshot.getTermIndex());
    }

    @Override
    public StateMachineStorage getStateMachineStorage() {
        return storage;
    }

    @Override
    public CompletableFuture<Message> applyTransaction(TransactionContext trx) {
        var entry = trx.getLogEntry();
        CatalogReply reply;
        synchronized (catalog) {
            try {
                CatalogCommand c = CatalogCommand.parseFrom(entry.getStateMachineLogEntry().getLogData().toByteArray());
                reply = catalog.apply(c);
            } catch (IOException e) {
                // Same bytes on every replica, so the same refusal everywhere: deterministic.
                reply = CatalogReply.newBuilder().setErrorCode(ErrorCode.INVALID_ARGUMENT.name())
                        .setMessage("not a catalog command: " + e.getMessage()).build();
            }
            updateLastAppliedTermIndex(entry.getTerm(), entry.getIndex());
        }
        return CompletableFuture.completedFuture(Message.valueOf(UnsafeByteOperations.unsafeWrap(reply.toByteArray())));
    }

    @Override
    public CompletableFuture<Message> query(Message request) {
        ByteString q = request.getContent();
        byte kind = q.isEmpty() ? QUERY_STATE : q.byteAt(0);
        synchronized (catalog) {
            byte[] state = catalog.state().toByteArray();
            if (kind == QUERY_STATE_AT) {
                TermIndex ti = getLastAppliedTermIndex();
                ByteBuffer b = ByteBuffer.allocate(16 + state.length);
                b.putLong(ti.getTerm()).putLong(ti.getIndex()).put(state).flip();
                return CompletableFuture.completedFuture(Message.valueOf(UnsafeByteOperations.unsafeWrap(b)));
            }
            return CompletableFuture.completedFuture(Message.valueOf(UnsafeByteOperations.unsafeWrap(state)));
        }
    }

    @Override
    public long takeSnapshot() throws IOException {
        TermIndex ti;
        byte[] state;
        synchronized (catalog) {
            ti = getLastAppliedTermIndex();
            state = catalog.state().toByteArray();
        }
        if (ti == null || ti.getIndex() < 0) {
            return -1;
        }
        writeSnapshot(ti, state);
        purgeBehind(ti.getIndex());
        return ti.getIndex();
    }

    /** Catalog entries kept behind a checkpoint, whatever the members have committed. */
    static final long KEPT_ENTRIES = 1024;

    /**
     * Ratis purges after a checkpoint only to the lowest index the members committed, so a catalog
     * member that is down would hold the log back for good (RaftServerSettings); catalog entries are
     * small, so a count bounds it: a member further behind is sent the catalog state instead.
     */
    private void purgeBehind(long checkpointed) {
        try {
            var log = getServer().join().getDivision(getGroupId()).getRaftLog();
            long p = checkpointed - KEPT_ENTRIES;
            if (p > log.getStartIndex()) {
                log.purge(p);
            }
        } catch (IOException | RuntimeException e) {
            LOG.warn("{}: purging the catalog log failed (next checkpoint tries again): {}", getId(), e.toString());
        }
    }

    private void writeSnapshot(TermIndex ti, byte[] state) throws IOException {
        File f = storage.getSnapshotFile(ti.getTerm(), ti.getIndex());
        File tmp = new File(f.getParentFile(), f.getName() + ".tmp");
        try (OutputStream out = Files.newOutputStream(tmp.toPath(), StandardOpenOption.CREATE,
                StandardOpenOption.TRUNCATE_EXISTING, StandardOpenOption.WRITE, StandardOpenOption.SYNC)) {
            out.write(state);
        }
        Files.move(tmp.toPath(), f.toPath(), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        var md5 = MD5FileUtil.computeAndSaveMd5ForFile(f);
        storage.updateLatestSnapshot(new SingleFileSnapshotInfo(new FileInfo(f.toPath(), md5), ti));
    }

    @Override
    public CompletableFuture<TermIndex> notifyInstallSnapshotFromLeader(RoleInfoProto roleInfo, TermIndex firstAvailable) {
        RaftPeerId leader = RaftPeerId.valueOf(roleInfo.getFollowerInfo().getLeaderInfo().getId().getId());
        LOG.info("catalog: leader {} no longer has our next entry (its first: {}); fetching its state", leader, firstAvailable);
        return CompletableFuture.supplyAsync(() -> {
            try {
                RaftGroup group = getServer().join().getDivision(getGroupId()).getGroup();
                try (RaftClient client = clients.apply(group)) {
                    RaftClientReply r = client.io().sendReadOnly(Message.valueOf(ByteString.copyFrom(new byte[] {QUERY_STATE_AT})), leader);
                    if (!r.isSuccess()) {
                        throw new IOException("state query to " + leader + " failed: " + r.getException());
                    }
                    ByteBuffer b = r.getMessage().getContent().asReadOnlyByteBuffer();
                    TermIndex ti = TermIndex.valueOf(b.getLong(), b.getLong());
                    byte[] state = new byte[b.remaining()];
                    b.get(state);
                    writeSnapshot(ti, state);
                    synchronized (catalog) {
                        catalog.restore(CatalogState.parseFrom(state));
                        updateLastAppliedTermIndex(ti.getTerm(), ti.getIndex());
                    }
                    LOG.info("catalog: installed the leader's state at {}", ti);
                    return ti;
                }
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        });
    }
}
