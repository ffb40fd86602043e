package io.ballast.replication.config;

import io.ballast.engine.store.NodeDirectory;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.apache.ratis.conf.RaftProperties;
import org.apache.ratis.grpc.GrpcConfigKeys;
import org.apache.ratis.server.RaftServerConfigKeys;
import org.apache.ratis.util.SizeInBytes;
import org.apache.ratis.util.TimeDuration;

/**
 * The Ratis settings every Ballast node runs with, each with the reason it differs from Ratis's
 * default (measurements in docs/architecture.md and docs/benchmarks.md). Operators may override
 * any key with a JVM property ({@code -Draft.server.x=y}), applied last. Stateless.
 */
public final class RaftServerSettings {
    private RaftServerSettings() {
    }

    /**
     * Leader lease / minimum election timeout. Ratis's default (0.9) leaves 10 % for the leader's
     * and followers' clocks to run at different rates: with the 600 ms minimum, 60 ms.
     */
    static final double LEASE_RATIO = 0.9;

    /** Log bytes Ratis preallocates at a time: no more than a write needs (see {@link #of}). */
    static final int PREALLOCATE_BYTES = 4096;

    /** A division's first election after it starts, lower and upper bound in ms (see {@link #of}). */
    static final long FIRST_ELECTION_MIN_MS = 50;
    static final long FIRST_ELECTION_MAX_MS = 150;

    /** Log entries Ratis may buffer before it fsyncs: each on its own (see {@link #of}). */
    static final int FORCE_SYNC_ENTRIES = 1;

    /** The Ratis server properties of a node: {@code c}'s settings, then any {@code -Draft.*} override. */
    public static RaftProperties of(ReplicationConfig c, NodeDirectory node) {
        RaftProperties p = new RaftProperties();
        RaftServerConfigKeys.setStorageDir(p, List.of(node.path().resolve("raft").toFile()));
        GrpcConfigKeys.Server.setHost(p, c.host());
        GrpcConfigKeys.Server.setPort(p, c.port());
        RaftServerConfigKeys.Rpc.setTimeoutMin(p, ms(c.electionTimeoutMin().toMillis()));
        RaftServerConfigKeys.Rpc.setTimeoutMax(p, ms(c.electionTimeoutMax().toMillis()));
        RaftServerConfigKeys.Rpc.setRequestTimeout(p, ms(c.rpcRequestTimeout().toMillis()));
        // A division that has not yet seen a leader since it started (a new volume's group, a node
        // that restarted) waits 50-150 ms instead of the full 600-1200 ms before it asks for votes:
        // a new volume's group elected its first leader after ~0.9 s, most of a volume create's
        // time (CLI create 2.1-2.4 s -> 1.4-1.5 s). It is safe where a leader lives because the ask
        // is a pre-vote, which members that heard their leader within the election timeout refuse
        // (the lease below relies on the same rule): a restarted follower that asks before the
        // leader's heartbeat reaches it is refused, changes no term, and from then on waits the
        // full timeout (Ratis uses the short one only until the division's first role change).
        RaftServerConfigKeys.Rpc.setFirstElectionTimeoutMin(p,
                ms(Math.min(FIRST_ELECTION_MIN_MS, c.electionTimeoutMin().toMillis())));
        RaftServerConfigKeys.Rpc.setFirstElectionTimeoutMax(p,
                ms(Math.min(FIRST_ELECTION_MAX_MS, c.electionTimeoutMax().toMillis())));
        // Durability: the log is fsynced before an entry counts toward commit (never unsafe-flush).
        RaftServerConfigKeys.Log.setUnsafeFlushEnabled(p, false);
        RaftServerConfigKeys.Log.setSegmentSizeMax(p, SizeInBytes.valueOf(c.segmentSizeMax()));
        // Ratis fills a segment with zeroes ahead of the entries it writes (preallocation), and the
        // next fsync sends those zero pages to the disk before the entries overwrite them: with 2 MiB
        // of fill ahead, every log byte reached the disk twice. Preallocating only what each write
        // needs (Ratis fills at least that) lets the entry overwrite its fill in the page cache first.
        // A/B (docs/benchmarks.md, "Preallocating only what is written"): 4k random writes put 6.6x
        // instead of 9.4x the client's bytes on the disk with 3 replicas. A crash mid-write leaves a
        // short last entry, which Ratis drops at load as a partial write.
        RaftServerConfigKeys.Log.setPreallocatedSize(p, SizeInBytes.valueOf(PREALLOCATE_BYTES));
        // One fsync per log entry: Ratis's log worker otherwise leaves an entry unflushed while the
        // next task in its queue is another entry's write, and for a large write that task first
        // waits for its data's journal write (sync policy): the entry before it commits only after
        // that. A/B against Ratis's default (128; docs/benchmarks.md, "Each log entry fsynced on its
        // own"), 3 rounds, xfs: 1M seqwrite +20 to +32 %, 4k randwrite QD32 +17 to +21 %, QD1
        // write+flush +9 to +34 %, disk bytes unchanged. It also keeps two entries from sharing the
        // write buffer, where Ratis 3.3 zero-fills the first one's bytes a second time past the data.
        RaftServerConfigKeys.Log.setForceSyncNum(p, FORCE_SYNC_ENTRIES);
        // The appender's batch must hold the largest entry with its data, and Ratis requires the
        // log's write buffer (direct memory, allocated for every group) to be at least that batch.
        // Two largest entries: 8.5 MiB per replica. One (batchMaxBytes + 64 KiB) failed in CI: a
        // journaled entry also carries its reference (an eighth of its data, VolumeEntryData), so
        // the largest one did not fit and its writes ended in EIO (SnapshotCloneIT's nbdcopy).
        // A bound from the real largest entry, with a test, is issue 15's next step.
        RaftServerConfigKeys.Log.Appender.setBufferByteLimit(p, SizeInBytes.valueOf(2L * c.batchMaxBytes()));
        RaftServerConfigKeys.Log.setWriteBufferSize(p, SizeInBytes.valueOf(2L * c.batchMaxBytes() + 64 * 1024));
        // gRPC's HTTP/2 flow-control window, per stream: Ratis's default (1 MB) is a quarter of one
        // appender batch, so a full batch (a client's write to the leader, an append to a follower)
        // stalled mid-message for window updates. Two batches, the appender's buffer limit, let one
        // go out whole; the bytes in flight were bounded by that limit already. A/B of 8 MiB
        // against the default (docs/benchmarks.md, 2026-12-04): with TLS, 1M seqwrite ahead in 3 of
        // 3 rounds (+6 to +36 %) and 4k randwrite +0 to +48 %, with less CPU per GiB; in plaintext
        // within noise (0.95-1.11x).
        GrpcConfigKeys.setFlowControlWindow(p, SizeInBytes.valueOf(2L * c.batchMaxBytes()));
        // No METADATA entry (the commit index) after every commit: it doubled the entries, and
        // so the fsyncs and replication rounds, per write (QD32 4 KiB: 1.9k -> 2.8k IOPS with 3
        // replicas). Raft's safety does not need a persisted commit index; a restarted server
        // learns it from the leader (a 1-member group: from its first commit in the new term).
        RaftServerConfigKeys.Log.setLogMetadataEnabled(p, false);
        // Large volume writes are stateMachineData (VolumeEntryData): Ratis's cache keeps entries
        // without it (the state machine caches it), and waits for the data to be durable in the
        // entry journal before it writes the log entry (sync policy), so a log entry on disk always
        // has its data on disk.
        RaftServerConfigKeys.Log.StateMachineData.setCachingEnabled(p, true);
        RaftServerConfigKeys.Log.StateMachineData.setSync(p, true);
        // A kill -9 while the log worker wrote an entry can leave its tail unwritten (the buffered
        // channel writes a large entry in pieces): the open segment ends in an entry whose checksum
        // reads as the preallocation's zeroes. Such an entry was never fsynced, so never counted
        // toward a commit; Ratis's default (EXCEPTION) refused to start the server over it
        // (SnapshotCloneIT's node did not come back in CI). WARN_AND_RETURN drops it from the open
        // segment only: a short closed segment still fails its entry-count check at load.
        RaftServerConfigKeys.Log.setCorruptionPolicy(p, RaftServerConfigKeys.Log.CorruptionPolicy.WARN_AND_RETURN);
        // Off: Ratis's follower-side "compose" (3.3.0 default on) acknowledges entries it never
        // appends. While an append of entries [s..e] is pending, a second request starting at the
        // same s but reaching further, [s..e+k] (the leader resends after INCONSISTENCY replies,
        // and has more entries by then), counts as "already exists": it gets the pending append's
        // future and its SUCCESS reply says matchIndex e+k. The leader counts e+1..e+k as stored on
        // that follower (toward commit, too), then never sends them again: every later request
        // starts at matchIndex+1 and the follower answers INCONSISTENCY for ever. This was
        // ReplicatedFailoverIT's stuck follower; see RatisComposeDropsEntriesTest and
        // docs/architecture.md. Without compose a follower appends each request in turn, and
        // Ratis's log skips what it already holds.
        RaftServerConfigKeys.Log.setAppendEntriesComposeEnabled(p, false);
        // After a checkpoint Ratis purges the log only up to the lowest index every member has
        // committed: a member that is down or behind keeps what it needs to catch up from the log.
        // No count of entries preserved besides: a count bounds no bytes (1,024 entries of 4 MiB
        // are 4 GiB). The volume state machine purges further itself once the entries kept for a
        // lagging member pass its byte budget (LogBudget, LogPurgePoints); that member then gets an
        // incremental rebuild. The catalog caps its own log by entries (CatalogStateMachine).
        RaftServerConfigKeys.Log.setPurgeUptoSnapshotIndex(p, false);
        RaftServerConfigKeys.Log.setPurgePreservationLogNum(p, 0);
        RaftServerConfigKeys.Log.setPurgeGap(p, 16);
        // Rebuild by our own block copy (notifyInstallSnapshotFromLeader), not by shipping files.
        RaftServerConfigKeys.Log.Appender.setInstallSnapshotEnabled(p, false);
        RaftServerConfigKeys.Snapshot.setAutoTriggerEnabled(p, true);
        RaftServerConfigKeys.Snapshot.setAutoTriggerThreshold(p, c.snapshotEveryEntries());
        // No snapshot when a server stops. Ratis 3.3 livelocks a follower whose snapshot index is
        // exactly one below the leader's first log entry: the leader cannot name the entry before
        // the follower's next one, notifies it to install a snapshot, the follower answers "already
        // installed", for ever (CatalogReplicationTest hung so in CI). A stopping leader's final
        // snapshot at its last index, with the next leader's log starting at the new term's first
        // entry, made that likely; without it a restarted replica replays its log, or, behind the
        // leader's purged log, is rebuilt through notifyInstallSnapshotFromLeader.
        RaftServerConfigKeys.Snapshot.setTriggerWhenStopEnabled(p, false);
        // Nor when a group is removed: a deleted volume's directory goes anyway, and a division
        // restart (RebuildHandover) must reopen on the snapshot the rebuild wrote, not on one taken
        // at the applied index from before the rebuild.
        RaftServerConfigKeys.Snapshot.setTriggerWhenRemoveEnabled(p, false);
        RaftServerConfigKeys.Snapshot.setRetentionFileNum(p, 2);
        // Linearizable reads (ReadFence, the catalog's queries): a read index confirmed by the
        // leader's lease (no round trip while a majority acked a heartbeat sent less than 0.9 x the
        // minimum election timeout ago), else by a heartbeat round. The lease is safe because a
        // follower that heard from its leader within the minimum election timeout refuses pre-votes,
        // so no other leader can be elected before the lease runs out (docs/architecture.md, "read
        // fence": the timing assumption). Pre-vote is Ratis's default; set here because the lease needs it.
        RaftServerConfigKeys.Read.setOption(p, RaftServerConfigKeys.Read.Option.LINEARIZABLE);
        RaftServerConfigKeys.Read.setLeaderLeaseEnabled(p, true);
        RaftServerConfigKeys.Read.setLeaderLeaseTimeoutRatio(p, LEASE_RATIO);
        RaftServerConfigKeys.LeaderElection.setPreVote(p, true);
        // The server and client pools are per group (every division has both): fixed pools kept
        // 2 x serverThreads threads per replica for ever, 8 of the ~11 an idle replica cost. Cached
        // ones (size 0: Ratis then uses the JDK's cached pool) start a thread per task in flight and
        // let it go after 60 s idle, so an idle replica keeps none; their tasks only hand work on
        // (append to the log worker, submit a request), so a busy group holds few. The proxy pool
        // is one per node and stays fixed; it starts the node's divisions (a node's stop closes
        // them on threads of its own, ServerCloseForExit).
        RaftServerConfigKeys.ThreadPool.setServerCached(p, true);
        RaftServerConfigKeys.ThreadPool.setServerSize(p, 0);
        RaftServerConfigKeys.ThreadPool.setClientCached(p, true);
        RaftServerConfigKeys.ThreadPool.setClientSize(p, 0);
        RaftServerConfigKeys.ThreadPool.setProxyCached(p, false);
        RaftServerConfigKeys.ThreadPool.setProxySize(p, c.serverThreads());
        // Operators' overrides of any Ratis key (-Draft.server.x=y), e.g. for tuning experiments.
        System.getProperties().stringPropertyNames().stream().filter(k -> k.startsWith("raft."))
                .forEach(k -> p.set(k, System.getProperty(k)));
        return p;
    }

    private static TimeDuration ms(long millis) {
        return TimeDuration.valueOf(millis, TimeUnit.MILLISECONDS);
    }
}
