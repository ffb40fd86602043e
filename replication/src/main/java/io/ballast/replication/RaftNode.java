package io.ballast.replication;

import io.ballast.engine.error.BallastException;
import io.ballast.engine.error.ErrorCode;
import io.ballast.engine.store.NodeDirectory;
import io.ballast.replication.catalog.CatalogMember;
import io.ballast.replication.catalog.CatalogStateMachine;
import io.ballast.replication.checkpoint.LogBudget;
import io.ballast.replication.config.RaftServerSettings;
import io.ballast.replication.config.RatisBufferPool;
import io.ballast.replication.config.ReplicationConfig;
import io.ballast.replication.entry.JournalRecordLayout;
import io.ballast.replication.entry.VolumeLogLayout;
import io.ballast.replication.frontend.LeaderReplicaAccess;
import io.ballast.replication.frontend.LocalSubmitter;
import io.ballast.replication.frontend.ReplicatedBlockVolume;
import io.ballast.replication.membership.LeadershipMover;
import io.ballast.replication.membership.Membership;
import io.ballast.replication.ratis.GroupAddOnPeers;
import io.ballast.replication.ratis.LocalGroupRequest;
import io.ballast.replication.ratis.RatisErrors;
import io.ballast.replication.ratis.ServerCloseForExit;
import io.ballast.replication.rebuild.RebuildHandover;
import io.ballast.replication.rebuild.ReplicaScrub;
import io.ballast.replication.space.DiskSpace;
import io.ballast.replication.space.DiskWatermarks;
import io.ballast.replication.space.SpaceGuard;
import io.ballast.replication.statemachine.VolumeStateMachine;
import io.ballast.replication.tls.RaftTls;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.apache.ratis.client.RaftClient;
import org.apache.ratis.client.RaftClientConfigKeys;
import org.apache.ratis.conf.RaftProperties;
import org.apache.ratis.protocol.ClientId;
import org.apache.ratis.protocol.Message;
import org.apache.ratis.protocol.RaftClientReply;
import org.apache.ratis.protocol.RaftGroup;
import org.apache.ratis.protocol.RaftGroupId;
import org.apache.ratis.protocol.RaftPeer;
import org.apache.ratis.protocol.RaftPeerId;
import org.apache.ratis.protocol.exceptions.AlreadyExistsException;
import org.apache.ratis.retry.RetryPolicies;
import org.apache.ratis.retry.RetryPolicy;
import org.apache.ratis.server.DivisionInfo;
import org.apache.ratis.server.RaftServer;
import org.apache.ratis.thirdparty.com.google.protobuf.UnsafeByteOperations;
import org.apache.ratis.util.TimeDuration;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A node's Raft server: one Ratis {@link RaftServer} (gRPC on {@code host:port}, storage under
 * {@code <dataDir>/raft/}) hosting one group per volume replica on this node. Each group's state
 * machine is a {@link VolumeStateMachine} over the volume's store in the {@link NodeDirectory}.
 *
 * <p>Group ids derive from volume names ({@link #groupIdOf}); peers are given as node id to
 * {@code host:port}. Threading: thread-safe. Errors: {@link BallastException} (UNAVAILABLE when
 * peers or quorum are missing, NOT_FOUND for a volume without a replica here, FAILED_PRECONDITION
 * when fenced). The caller owns the {@link NodeDirectory} and closes it after this node.
 *
 * <p>Size: over 450 lines because it is the one facade over Ratis that the csi module sees (no
 * Ratis type leaves replication, ArchUnit checks it): each volume-level operation (create, join,
 * attach, resize, membership, leadership, status, division restarts) is a short method here over a
 * class that does the work ({@link Membership}, {@link LeadershipMover}, {@link GroupSnapshots},
 * {@link RaftServerSettings}, the watchdogs). The catalog group it hosts is {@link CatalogMember}'s.
 */
public final class RaftNode implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(RaftNode.class);
    /** Longest wait for the groups to close when the process exits: within a pod's 30 s grace period. */
    private static final Duration EXIT_CLOSE_LIMIT = Duration.ofSeconds(20);
    /** Pause between a new group's client requests while it elects its first leader (a divisor of 100). */
    private static final int NEW_GROUP_RETRY_MS = 10;
    /**
     * Longest wait for a membership change: adding a member returns only once its block copy and
     * log catch-up are done (256 MiB took seconds here; a large volume takes minutes at disk speed).
     */
    static final Duration MEMBERSHIP_TIMEOUT = Duration.ofMinutes(10);

    private final ReplicationConfig config;
    /** How this node's Raft server and clients talk to peers. */
    private final RaftTls tls;
    private final NodeDirectory node;
    private final RaftProperties clientProperties;
    /** Clients for membership changes: adding a member waits for its full rebuild. */
    private final RaftProperties slowClientProperties;
    private final Membership membership;
    private final ExecutorService io;
    private final ExecutorService background;
    private final RaftServer server;
    private final CatalogMember catalog;
    private final GroupSnapshots snapshots = new GroupSnapshots(this);
    private volatile StuckLogWatchdog logWatchdog;
    private volatile LeaderHandoff leaderHandoff;
    /** Frontend handles open on this node's replicas, by group: rebound when their division is restarted. */
    private final ConcurrentHashMap<RaftGroupId, Set<ReplicatedBlockVolume>> localHandles = new ConcurrentHashMap<>();

    private final SpaceGuard space;
    private final DrainState drain;

    private RaftNode(ReplicationConfig config, NodeDirectory node, DiskWatermarks watermarks, RaftTls tls) throws IOException {
        RatisBufferPool.configure(); // before anything loads Ratis's Netty
        this.config = config;
        this.tls = tls;
        this.node = node;
        this.drain = new DrainState(config.nodeId());
        this.space = new SpaceGuard(config.nodeId(), new DiskSpace(
                List.of(node.path().resolve("raft"), node.path().resolve("volumes")), watermarks));
        this.io = Executors.newFixedThreadPool(2, Thread.ofPlatform().daemon().name("ballast-read-" + config.nodeId() + "-", 0).factory());
        this.background = Executors.newFixedThreadPool(2, Thread.ofPlatform().daemon().name("ballast-rebuild-" + config.nodeId() + "-", 0).factory());
        this.clientProperties = new RaftProperties();
        RaftClientConfigKeys.Rpc.setRequestTimeout(clientProperties, ms(config.clientRequestTimeout().toMillis()));
        this.slowClientProperties = new RaftProperties();
        RaftClientConfigKeys.Rpc.setRequestTimeout(slowClientProperties, ms(MEMBERSHIP_TIMEOUT.toMillis()));
        this.membership = new Membership(this::newClient, g -> newClient(g, slowClientProperties));
        this.server = RaftServer.newBuilder()
                .setServerId(RaftPeerId.valueOf(config.nodeId()))
                .setParameters(tls.parameters())
                .setProperties(RaftServerSettings.of(config, node))
                .setStateMachineRegistry(gid -> gid.equals(CatalogStateMachine.groupIdOf(node.identity().clusterId()))
                        ? new CatalogStateMachine(this::newClient)
                        : new VolumeStateMachine(node, this::newClient, background, config.logBudgetMin(),
                                LogBudget.journalFileSize(config.logBudgetMin(),
                                        JournalRecordLayout.maxRecordBytes(ReplicationConfig.MAX_ENTRY_BYTES)),
                                config.rebuildBytesPerSecond(), (g, why) -> {
                                    restartDivision(g, why);
                                    return true;
                                }, space, tls))
                .build();
        this.catalog = new CatalogMember(server, config.nodeId(), node.identity().clusterId(), membership);
    }

    /** This node's disk watermarks and the full nodes the catalog reported (see {@link SpaceGuard}). */
    public SpaceGuard space() {
        return space;
    }

    /** The drained nodes the catalog reported (see {@link LeaderHandoff}). */
    public DrainState drain() {
        return drain;
    }

    /** Starts the node's Raft server; existing groups under {@code <dataDir>/raft} come back up. */
    public static RaftNode start(ReplicationConfig config, NodeDirectory node) {
        return start(config, node, DiskWatermarks.DEFAULT);
    }

    /** As {@link #start(ReplicationConfig, NodeDirectory)}, refusing writes by these disk watermarks. */
    public static RaftNode start(ReplicationConfig config, NodeDirectory node, DiskWatermarks watermarks) {
        return start(config, node, watermarks, RaftTls.PLAINTEXT);
    }

    /** As above, speaking to peers with {@code tls} (mutual TLS with the cluster's certificates, or plaintext). */
    public static RaftNode start(ReplicationConfig config, NodeDirectory node, DiskWatermarks watermarks, RaftTls tls) {
        try {
            RaftNode n = new RaftNode(config, node, watermarks, tls);
            tls.admission().ifPresent(a -> a.serve(n.server));
            n.server.start();
            n.space.local().start();
            n.leaderHandoff = new LeaderHandoff(n.server, n, n.space, n.drain).start();
            n.logWatchdog = new StuckLogWatchdog(n.server, node.path().resolve("raft"), n).start();
            LOG.info("raft node {} listening on {}, config {}", config.nodeId(), config.address(), config);
            return n;
        } catch (IOException e) {
            throw new BallastException(ErrorCode.UNAVAILABLE, "cannot start raft node " + config.nodeId() + ": " + e, e);
        }
    }

    private static TimeDuration ms(long millis) {
        return TimeDuration.valueOf(millis, TimeUnit.MILLISECONDS);
    }

    /** This node's part in the cluster catalog's group. */
    public CatalogMember catalog() {
        return catalog;
    }

    public String nodeId() {
        return config.nodeId();
    }

    public ReplicationConfig config() {
        return config;
    }

    RaftClient newClient(RaftGroup group) {
        return newClient(group, clientProperties);
    }

    /** A client that waits up to {@link #MEMBERSHIP_TIMEOUT} per request (snapshot entries copy a whole volume). */
    RaftClient newSlowClient(RaftGroup group) {
        return newClient(group, slowClientProperties);
    }

    /** Snapshots of this node's volumes and clone origins. */
    public GroupSnapshots snapshots() {
        return snapshots;
    }

    private RaftClient newClient(RaftGroup group, RaftProperties properties) {
        return newClient(group, properties, RetryPolicies.retryUpToMaximumCountWithFixedSleep(config.clientRetries(), ms(100)));
    }

    /**
     * A client for a group electing its first leader: it asks again every {@link #NEW_GROUP_RETRY_MS}
     * ms instead of 100, within the same time budget. The first election takes 50-150 ms
     * ({@link RaftServerSettings}), so a 100 ms pause made up a third of a create's time on the
     * server (~0.35 s).
     */
    private RaftClient newClientForNewGroup(RaftGroup group) {
        int tries = config.clientRetries() * (100 / NEW_GROUP_RETRY_MS);
        return newClient(group, clientProperties, RetryPolicies.retryUpToMaximumCountWithFixedSleep(tries, ms(NEW_GROUP_RETRY_MS)));
    }

    private RaftClient newClient(RaftGroup group, RaftProperties properties, RetryPolicy retries) {
        return RaftClient.newBuilder()
                .setProperties(properties)
                .setParameters(tls.parameters())
                .setRaftGroup(group)
                .setClientId(ClientId.randomId())
                .setRetryPolicy(retries)
                .build();
    }

    private static RaftGroup group(String volume, Map<String, String> peers) {
        List<RaftPeer> list = new ArrayList<>();
        peers.forEach((id, addr) -> list.add(RaftPeer.newBuilder().setId(id).setAddress(addr).build()));
        return RaftGroup.valueOf(VolumeStateMachine.groupIdOf(volume), list);
    }

    /**
     * Creates a volume's replica group on every peer ({@code nodeId -> host:port}, this node may
     * or may not be one) and its empty replicas of {@code sizeBytes}. Idempotent: peers that
     * already host the group are skipped, and an existing replica is kept.
     */
    public void createReplicaGroup(String volume, long sizeBytes, Map<String, String> peers) {
        createReplicaGroup(volume, sizeBytes, peers, null);
    }

    /**
     * {@link #createReplicaGroup(String, long, Map)} of a volume that will be filled from
     * {@code source} ("volume@snapshot", null for none): the source is recorded with the volume
     * (CREATE_CLONE), so the fill can be checked and redone ({@link GroupSnapshots#markFilled}).
     */
    public void createReplicaGroup(String volume, long sizeBytes, Map<String, String> peers, String source) {
        if (!NodeDirectory.VOLUME_NAME.matcher(volume).matches()) {
            throw new BallastException(ErrorCode.INVALID_ARGUMENT, "bad volume name '" + volume + "'");
        }
        RaftGroup group = group(volume, peers);
        try (RaftClient client = newClientForNewGroup(group)) {
            GroupAddOnPeers.add(client, group, volume);
            RaftClientReply r = client.io().send(Message.valueOf(UnsafeByteOperations.unsafeWrap(
                    source == null ? VolumeLogLayout.create(volume, sizeBytes)
                            : VolumeLogLayout.createClone(volume, sizeBytes, source))));
            BallastException e = RatisErrors.of(r, "create volume " + volume);
            if (e != null) {
                throw e;
            }
            LOG.info("created replica group {} of volume {} ({} bytes) on {}", group.getGroupId(), volume, sizeBytes, peers.keySet());
        } catch (IOException e) {
            throw RatisErrors.map(e, "create replica group of " + volume);
        }
    }

    /** Adds this node to an existing group locally (e.g. after its data was lost); it rebuilds from the leader. */
    public void joinGroup(String volume, Map<String, String> peers) {
        RaftGroup group = group(volume, peers);
        try {
            RaftClientReply r = LocalGroupRequest.add(server, group, true);
            BallastException e = RatisErrors.of(r, "join group of " + volume);
            if (e != null && !RatisErrors.alreadyExists(r)) {
                throw e;
            }
        } catch (AlreadyExistsException e) {
            LOG.debug("group of {} already here", volume);
        } catch (IOException e) {
            throw RatisErrors.map(e, "join group of " + volume);
        }
    }

    /**
     * Closes this node's division of a volume group and opens it again from its directory, the
     * replica's blocks kept: what a node restart does, for one group ({@link RebuildHandover},
     * {@link StuckLogWatchdog}). Frontend handles open here on the volume are rebound to the reopened
     * division ({@link ReplicatedBlockVolume#rebind}); meanwhile their requests fail and are retried
     * as for a leader change (this node's leadership, if it led, has moved). Throws when the
     * division could not be closed or opened again.
     */
    void restartDivision(RaftGroupId gid, String why) {
        reopenDivision(gid, why, false);
    }

    /**
     * Re-creates this node's member of a volume group from its blocks alone: the division is
     * removed with its Raft directory (log, entry journal, checkpoints) and added back empty, so the
     * leader rebuilds it by block copy like a wiped replica. The last way out for a follower Ratis
     * cannot resume ({@link StuckLogWatchdog}); the blocks stay until the copy overwrites them.
     * Not while a frontend on this node holds the volume (false): it reads from these blocks, which
     * the copy rewrites.
     */
    boolean rejoinAfresh(RaftGroupId gid, String why) {
        return reopenDivision(gid, why, true);
    }

    private boolean reopenDivision(RaftGroupId gid, String why, boolean wipeLog) {
        if (wipeLog && localHandles.containsKey(gid)) {
            LOG.debug("{}: re-creating the division ({}) waits until the volume attached here is detached", gid, why);
            return false;
        }
        RaftServer.Division d;
        try {
            d = server.getDivision(gid);
        } catch (IOException e) {
            return true; // gone: nothing to restart
        }
        RaftGroup group = d.getGroup();
        VolumeStateMachine sm = (VolumeStateMachine) d.getStateMachine();
        sm.keepReplicaOnRemove(true);
        try {
            BallastException e = RatisErrors.of(LocalGroupRequest.remove(server, gid, wipeLog), "close the division of " + gid);
            if (e != null) {
                sm.keepReplicaOnRemove(false); // still open: a later real removal must delete the replica
                throw e;
            }
            reopen(group, wipeLog);
        } catch (IOException e) {
            throw RatisErrors.map(e, "restart the division of " + gid);
        }
        rebindLocalHandles(gid);
        LOG.info("{}: Raft division {} ({})", gid, wipeLog ? "re-created empty, to be rebuilt from the leader" : "restarted", why);
        return true;
    }

    /**
     * Points the handles open here on {@code gid} at its reopened division. Read after the reopen:
     * no handle can open while the group is away from the server, and one opened since is bound already.
     */
    private void rebindLocalHandles(RaftGroupId gid) {
        Set<ReplicatedBlockVolume> handles = localHandles.get(gid);
        if (handles == null || handles.isEmpty()) {
            return;
        }
        RaftServer.Division d;
        try {
            d = server.getDivision(gid);
        } catch (IOException e) {
            throw RatisErrors.map(e, "find the reopened division of " + gid);
        }
        VolumeStateMachine sm = (VolumeStateMachine) d.getStateMachine();
        for (ReplicatedBlockVolume v : handles) {
            v.rebind(localSubmitter(d), sm);
        }
        LOG.info("{}: {} frontend handle(s) on this node now use the reopened division", gid, handles.size());
    }

    private LocalSubmitter localSubmitter(RaftServer.Division d) {
        return new LocalSubmitter(server, d, Duration.ofNanos(ReplicatedBlockVolume.RETRY_BUDGET_NANOS));
    }

    /** Opens a closed division again (from its directory, or formatted anew); a few tries, since nothing else will. */
    private void reopen(RaftGroup group, boolean format) {
        for (int attempt = 1; ; attempt++) {
            BallastException e;
            try {
                e = RatisErrors.of(LocalGroupRequest.add(server, group, format),
                        "reopen the division of " + group.getGroupId());
            } catch (IOException io) {
                e = RatisErrors.map(io, "reopen the division of " + group.getGroupId());
            }
            if (e == null) {
                return;
            }
            if (attempt == 5) {
                LOG.error("{}: the division could not be opened again ({}); its replica stays on disk and comes back "
                        + "when the node restarts", group.getGroupId(), e.getMessage());
                throw e;
            }
            try {
                Thread.sleep(2000);
            } catch (InterruptedException ie) {
                Thread.currentThread().interrupt();
                throw e;
            }
        }
    }

    /** Asks the group's leader to step down (a new term resets its view of every follower). */
    void askLeaderToStepDown(RaftGroupId gid) {
        try (RaftClient client = newClient(server.getDivision(gid).getGroup())) {
            BallastException e = RatisErrors.of(client.admin().transferLeadership(null, 5000), "step down the leader of " + gid);
            if (e != null) {
                LOG.warn("{}: the leader did not step down: {}", gid, e.getMessage());
            }
        } catch (IOException e) {
            LOG.warn("{}: asking the leader to step down failed: {}", gid, e.toString());
        }
    }

    /**
     * Removes this node's member of the volume's group locally and deletes its replica (Raft
     * directory and block store: a store without its group is never served again). This does not
     * change the group's membership: see {@link #removeReplica}.
     */
    public void removeGroup(String volume) {
        RaftServer.Division d = division(volume);
        try {
            RaftClientReply r = LocalGroupRequest.remove(server, d.getGroup().getGroupId(), true);
            BallastException e = RatisErrors.of(r, "remove group of " + volume);
            if (e != null) {
                throw e;
            }
        } catch (IOException e) {
            throw RatisErrors.map(e, "remove group of " + volume);
        }
    }

    /**
     * Adds {@code nodeId} at raft address {@code address} as a replica of a live volume (this node
     * must hold one). Returns once the new member votes, i.e. after it was rebuilt by block copy
     * and caught up with the log. A member whose node lost the group (wiped disk) is taken out of
     * the configuration and added back the same way; a member that still holds its replica is
     * ALREADY_EXISTS.
     * INVALID_ARGUMENT for a malformed id/address or an address of another member, UNAVAILABLE
     * when nothing answers at the address, FAILED_PRECONDITION when another change is in progress.
     *
     * @return true for a new member, false for a re-joined one
     */
    public boolean addReplica(String volume, String nodeId, String address) {
        Membership.checkPeer(nodeId, address);
        return membership.add(division(volume), volume, nodeId, address) == Membership.Added.NEW_MEMBER;
    }

    /**
     * Removes {@code nodeId} from a live volume's group, then deletes the replica on that node.
     * NOT_FOUND when it is not a member, FAILED_PRECONDITION for the last replica, INVALID_ARGUMENT
     * when {@code address} (optional, may be null) is not the member's.
     *
     * @return null when the removed node deleted its replica, else why it could not (e.g. it is down)
     */
    public String removeReplica(String volume, String nodeId, String address) {
        Membership.checkPeer(nodeId, null);
        Membership.Removed r = membership.remove(division(volume), volume, nodeId, address);
        return r.dataDeleted() ? null : r.cleanupError();
    }

    /** The volume's committed members (node id -> raft address) as this node sees them. */
    public Map<String, String> members(String volume) {
        return Membership.members(division(volume), volume);
    }

    /**
     * True while this node's Raft server has the volume's group, also before the group has applied
     * the volume's CREATE (then {@link #groups()} does not list it yet: the name comes with CREATE).
     * Deletion must go by this, or a delete that arrives between the group's start and that apply
     * would find nothing and leave the group running for ever (issue 14).
     */
    public boolean hostsGroup(String volume) {
        RaftGroupId wanted = VolumeStateMachine.groupIdOf(volume);
        for (RaftGroupId gid : server.getGroupIds()) {
            if (gid.equals(wanted)) {
                return true;
            }
        }
        return false;
    }

    /** Names of the volumes with a replica group on this node. */
    public List<String> groups() {
        List<String> names = new ArrayList<>();
        for (RaftGroupId gid : server.getGroupIds()) {
            try {
                if (!(server.getDivision(gid).getStateMachine() instanceof VolumeStateMachine sm)) {
                    continue; // the catalog
                }
                String name = sm.volumeName();
                if (name != null) {
                    names.add(name);
                }
            } catch (IOException e) {
                LOG.debug("group {} vanished: {}", gid, e.toString());
            }
        }
        names.sort(null);
        return names;
    }

    /** The scrubs of the volume replicas on this node, for the {@link io.ballast.replication.rebuild.ScrubSchedule}. */
    public List<ReplicaScrub> scrubs() {
        List<ReplicaScrub> all = new ArrayList<>();
        for (RaftGroupId gid : server.getGroupIds()) {
            try {
                if (server.getDivision(gid).getStateMachine() instanceof VolumeStateMachine sm && sm.volumeName() != null) {
                    all.add(sm.scrub);
                }
            } catch (IOException e) {
                LOG.debug("group {} vanished: {}", gid, e.toString());
            }
        }
        return all;
    }

    /**
     * Opens the volume for writing with {@code writerEpoch}, which must be above every epoch used
     * before on this volume: appends an ATTACH entry, fencing earlier handles (their writes then fail
     * FAILED_PRECONDITION). Reads are served by this node's replica. The caller closes the handle.
     */
    public ReplicatedBlockVolume openVolume(String volume, long writerEpoch) {
        return started(localHandle(volume, writerEpoch), ReplicatedBlockVolume::attach);
    }

    /**
     * Opens the volume for writing with its current shared writer epoch, read as the volume's at
     * log index {@code index} ({@link #volumeInfo}), without an ATTACH: a further writer of a
     * multi-writer volume ({@link io.ballast.replication.frontend.WriterEpochs WriterEpochs}).
     */
    public ReplicatedBlockVolume joinVolume(String volume, long sharedEpoch, long index) {
        return started(localHandle(volume, sharedEpoch), v -> v.join(index));
    }

    private ReplicatedBlockVolume localHandle(String volume, long writerEpoch) {
        RaftServer.Division d = division(volume);
        VolumeStateMachine sm = (VolumeStateMachine) d.getStateMachine();
        ReplicatedBlockVolume v = new ReplicatedBlockVolume(volume, () -> newClient(d.getGroup()),
                localSubmitter(d), sm, writerEpoch, config, io);
        RaftGroupId gid = d.getGroup().getGroupId();
        localHandles.compute(gid, (g, set) -> {
            Set<ReplicatedBlockVolume> handles = set == null ? ConcurrentHashMap.newKeySet() : set;
            handles.add(v);
            return handles;
        });
        v.onClose(() -> localHandles.computeIfPresent(gid, (g, set) -> {
            set.remove(v);
            return set.isEmpty() ? null : set;
        }));
        return v;
    }

    /** Runs {@code start} (attach or join) on a new handle, closing it when that fails. */
    private static ReplicatedBlockVolume started(ReplicatedBlockVolume v, java.util.function.Consumer<ReplicatedBlockVolume> start) {
        try {
            start.accept(v);
        } catch (RuntimeException e) {
            v.close();
            throw e;
        }
        return v;
    }

    /**
     * The volume's applied state as its leader has it, by a linearizable query: its writer epoch
     * and the index it was read at. {@code peers} locate the group where no replica is local.
     */
    public VolumeLogLayout.Info volumeInfo(String volume, Map<String, String> peers) {
        RaftGroup g = hostsGroup(volume) ? division(volume).getGroup() : group(volume, peers);
        try (RaftClient client = newClient(g)) {
            RaftClientReply r = client.io().sendReadOnly(Message.valueOf(UnsafeByteOperations.unsafeWrap(VolumeLogLayout.queryInfo())));
            BallastException e = RatisErrors.of(r, "read the writer epoch of " + volume + " from its leader");
            if (e != null) {
                throw e;
            }
            return VolumeLogLayout.Info.decode(r.getMessage().getContent().asReadOnlyByteBuffer());
        } catch (IOException e) {
            throw RatisErrors.map(e, "read the writer epoch of " + volume + " from its leader");
        }
    }

    /**
     * Opens the volume for writing on a node that holds no replica of it (a diskless frontend):
     * writes go through the Ratis client to the group's leader, reads are linearizable queries to
     * it that carry {@code writerEpoch} ({@link LeaderReplicaAccess}); fencing and durability are the
     * same as for a local handle. {@code peers}: the group's members (node id -> raft host:port).
     */
    public ReplicatedBlockVolume openRemoteVolume(String volume, Map<String, String> peers, long writerEpoch) {
        RaftGroup group = group(volume, peers);
        return started(new ReplicatedBlockVolume(volume, () -> newClient(group), writerEpoch, config), ReplicatedBlockVolume::attach);
    }

    /** As {@link #joinVolume} on a node without a replica (a diskless frontend, see {@link #openRemoteVolume}). */
    public ReplicatedBlockVolume joinRemoteVolume(String volume, Map<String, String> peers, long sharedEpoch, long index) {
        RaftGroup group = group(volume, peers);
        return started(new ReplicatedBlockVolume(volume, () -> newClient(group), sharedEpoch, config), v -> v.join(index));
    }

    /**
     * Moves the volume's leadership to {@code targetNodeId} (e.g. the attaching node) once its replica
     * has caught up, waiting up to {@code catchUpWait} ({@link LeadershipMover}).
     */
    public void transferLeadership(String volume, String targetNodeId, Duration catchUpWait) {
        RaftServer.Division d = division(volume);
        try (RaftClient client = newClient(d.getGroup())) {
            new LeadershipMover(d).moveTo(client, volume, RaftPeerId.valueOf(targetNodeId), catchUpWait);
        } catch (IOException e) {
            throw RatisErrors.map(e, "transfer leadership of " + volume);
        }
    }

    /**
     * Grows a volume that may have no frontend (CSI offline expansion): a RESIZE entry under the
     * current writer epoch, so a frontend attached elsewhere is not fenced by it. Idempotent (a size
     * already reached is a no-op); shrinking is FAILED_PRECONDITION, a bad size OUT_OF_RANGE.
     */
    public void resize(String volume, long newSize) {
        RaftServer.Division d = division(volume);
        VolumeStateMachine sm = (VolumeStateMachine) d.getStateMachine();
        try (RaftClient client = newClient(d.getGroup())) {
            for (int attempt = 0; ; attempt++) {
                long epoch = sm.epoch(); // raised meanwhile by an attach elsewhere: retried below
                RaftClientReply r = client.io().send(Message.valueOf(UnsafeByteOperations.unsafeWrap(VolumeLogLayout.ops(epoch,
                        List.of(new VolumeLogLayout.Op(VolumeLogLayout.OP_RESIZE, (byte) 0, newSize, 0, null))))));
                BallastException e = RatisErrors.of(r, "resize " + volume);
                if (e != null) {
                    throw e;
                }
                byte status = VolumeLogLayout.decodeReply(r.getMessage().getContent().asReadOnlyByteBuffer())[0];
                switch (status) {
                    case VolumeLogLayout.ST_OK -> {
                        return;
                    }
                    case VolumeLogLayout.ST_FENCED -> {
                        if (attempt >= 3) {
                            throw new BallastException(ErrorCode.UNAVAILABLE, "resize of " + volume
                                    + " kept racing with attaches; retry");
                        }
                    }
                    case VolumeLogLayout.ST_OUT_OF_RANGE -> throw new BallastException(ErrorCode.OUT_OF_RANGE,
                            "volume " + volume + " cannot have " + newSize + " bytes");
                    default -> throw new BallastException(ErrorCode.FAILED_PRECONDITION, "volume " + volume
                            + " refused the resize to " + newSize + " bytes (status " + status + "); it only grows");
                }
            }
        } catch (IOException e) {
            throw RatisErrors.map(e, "resize " + volume);
        }
    }

    /** Takes a snapshot of this node's replica now (checkpoint + purgeable log). */
    public void takeSnapshot(String volume) {
        RaftServer.Division d = division(volume);
        try (RaftClient client = newClient(d.getGroup())) {
            RaftClientReply r = client.getSnapshotManagementApi(server.getId()).create(1, 10_000);
            BallastException e = RatisErrors.of(r, "snapshot of " + volume);
            if (e != null) {
                throw e;
            }
        } catch (IOException e) {
            throw RatisErrors.map(e, "snapshot of " + volume);
        }
    }

    public GroupStatus status(String volume) {
        RaftServer.Division d = division(volume);
        DivisionInfo info = d.getInfo();
        VolumeStateMachine sm = (VolumeStateMachine) d.getStateMachine();
        RaftPeerId leader = info.getLeaderId();
        var role = info.getCurrentRole(); // null while a just-added member starts
        // A closed division keeps its last role: never show it as a working LEADER (issue 14).
        String shown = !info.isAlive() ? "CLOSED" : role == null ? "STARTING" : role.name();
        long commit;
        try {
            commit = d.getRaftLog().getLastCommittedIndex();
        } catch (IllegalStateException e) { // "log is uninitialized": the division is (re)opening
            throw new BallastException(ErrorCode.UNAVAILABLE, "the replica of " + volume + " on " + config.nodeId()
                    + " is opening its Raft log; ask again in a moment", e);
        }
        return new GroupStatus(volume, d.getGroup().getGroupId().getUuid().toString(), shown,
                leader == null ? null : leader.toString(), info.getCurrentTerm(), commit,
                info.getLastAppliedIndex(), sm.epoch(), sm.rebuild.bytesDone.get(), sm.rebuild.bytesTotal.get(), membersOf(d),
                sm.integrity(), sm.sharedBytes());
    }

    private static Map<String, String> membersOf(RaftServer.Division d) {
        Map<String, String> m = new java.util.TreeMap<>();
        d.getRaftConf().getCurrentPeers().forEach(p -> m.put(p.getId().toString(), p.getAddress()));
        return m;
    }

    /**
     * Starts a scrub of this node's replica of the volume in the background (or joins the one
     * running): every block is verified and bad ones are repaired from peers. Progress and
     * results are in {@link #status}; the future completes when the pass is done.
     */
    public java.util.concurrent.CompletableFuture<Void> scrub(String volume) {
        return stateMachine(volume).scrub.start();
    }

    /** A Raft client of the volume's group (tests: raw requests). */
    RaftClient clientFor(String volume) {
        return newClient(division(volume).getGroup());
    }

    /** The local replica's state machine (tests, scrub). */
    public VolumeStateMachine stateMachine(String volume) {
        return (VolumeStateMachine) division(volume).getStateMachine();
    }

    RaftServer.Division division(String volume) {
        try {
            return server.getDivision(VolumeStateMachine.groupIdOf(volume));
        } catch (IOException e) {
            throw new BallastException(ErrorCode.NOT_FOUND, "no replica of volume " + volume + " on node " + config.nodeId(), e);
        }
    }

    /** Stops the Raft server (every group on this node); volume stores are closed cleanly. */
    @Override
    public void close() {
        close(false);
    }

    /**
     * {@link #close()} in a process that exits next: returns once every group's division is
     * closed, without waiting for Ratis's network teardown ({@link ServerCloseForExit}).
     */
    public void closeForExit() {
        close(true);
    }

    private void close(boolean exiting) {
        space.local().close();
        if (leaderHandoff != null) {
            leaderHandoff.close();
        }
        if (logWatchdog != null) {
            logWatchdog.close();
        }
        try {
            if (exiting) {
                ServerCloseForExit.close(server, EXIT_CLOSE_LIMIT);
            } else {
                server.close();
            }
        } catch (IOException e) {
            LOG.warn("closing raft node {}: {}", config.nodeId(), e.toString());
        } finally {
            io.shutdown();
            background.shutdownNow();
        }
    }
}
