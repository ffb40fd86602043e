package io.ballast.replication;

import io.ballast.engine.store.NodeDirectory;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.apache.ratis.conf.RaftProperties;
import org.apache.ratis.grpc.GrpcConfigKeys;
import org.apache.ratis.server.RaftServerConfigKeys;
import org.apache.ratis.util.SizeInBytes;
import org.apache.ratis.util.TimeDuration;

/**
 * The Ratis server settings of a node ({@link RaftNode}), each with the reason it is set so:
 * durability, log segments, purging, rebuild by our own block copy, thread pools, and operators'
 * {@code -Draft.*} overrides applied last. Stateless.
 */
final class RaftServerProperties {
    private RaftServerProperties() {}

    static RaftProperties of(ReplicationConfig c, NodeDirectory node) {
        RaftProperties p = new RaftProperties();
        RaftServerConfigKeys.setStorageDir(p, List.of(node.path().resolve("raft").toFile()));
        GrpcConfigKeys.Server.setHost(p, c.host());
        GrpcConfigKeys.Server.setPort(p, c.port());
        RaftServerConfigKeys.Rpc.setTimeoutMin(p, ms(c.electionTimeoutMin().toMillis()));
        RaftServerConfigKeys.Rpc.setTimeoutMax(p, ms(c.electionTimeoutMax().toMillis()));
        RaftServerConfigKeys.Rpc.setRequestTimeout(p, ms(c.rpcRequestTimeout().toMillis()));
        // Durability: the log is fsynced before an entry counts toward commit (never unsafe-flush).
        RaftServerConfigKeys.Log.setUnsafeFlushEnabled(p, false);
        RaftServerConfigKeys.Log.setSegmentSizeMax(p, SizeInBytes.valueOf(c.segmentSizeMax()));
        RaftServerConfigKeys.Log.setPreallocatedSize(p, SizeInBytes.valueOf(Math.min(c.segmentSizeMax(), 4L << 20)));
        // One entry carries up to 1 MiB of payload; the write buffer must hold the appender's batch.
        RaftServerConfigKeys.Log.Appender.setBufferByteLimit(p, SizeInBytes.valueOf(2L * c.batchMaxBytes()));
        RaftServerConfigKeys.Log.setWriteBufferSize(p, SizeInBytes.valueOf(2L * c.batchMaxBytes() + 64 * 1024));
        // No METADATA entry (the commit index) after every commit: it doubled the entries, and
        // so the fsyncs and replication rounds, per write (QD32 4 KiB: 1.9k -> 2.8k IOPS with 3
        // replicas). Raft's safety does not need a persisted commit index; a restarted server
        // learns it from the leader (a 1-member group: from its first commit in the new term).
        RaftServerConfigKeys.Log.setLogMetadataEnabled(p, false);
        RaftServerConfigKeys.Log.setPurgeUptoSnapshotIndex(p, true);
        RaftServerConfigKeys.Log.setPurgeGap(p, 16);
        // Keep entries behind each snapshot so a replica that was away briefly catches up from the
        // log, not by a full block copy (DESIGN: rebuild is for new or wiped replicas). Without this
        // a 2 s outage under load triggered a 256 MiB rebuild in ReplicatedFailoverIT.
        RaftServerConfigKeys.Log.setPurgePreservationLogNum(p, c.preservedEntries());
        // Rebuild by our own block copy (notifyInstallSnapshotFromLeader), not by shipping files.
        RaftServerConfigKeys.Log.Appender.setInstallSnapshotEnabled(p, false);
        RaftServerConfigKeys.Snapshot.setAutoTriggerEnabled(p, true);
        RaftServerConfigKeys.Snapshot.setAutoTriggerThreshold(p, c.snapshotEveryEntries());
        RaftServerConfigKeys.Snapshot.setRetentionFileNum(p, 2);
        RaftServerConfigKeys.ThreadPool.setServerCached(p, false);
        RaftServerConfigKeys.ThreadPool.setServerSize(p, c.serverThreads());
        RaftServerConfigKeys.ThreadPool.setClientCached(p, false);
        RaftServerConfigKeys.ThreadPool.setClientSize(p, c.serverThreads());
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
