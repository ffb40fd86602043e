package io.ballast.replication.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ballast.engine.store.NodeDirectory;
import java.nio.file.Path;
import org.apache.ratis.conf.RaftProperties;
import org.apache.ratis.server.RaftServerConfigKeys;
import org.apache.ratis.util.SizeInBytes;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The Ratis settings a node runs with, and the operator's -Draft.* overrides (README). */
class RaftServerSettingsTest {
    @TempDir
    Path tmp;

    @Test
    void defaultsAndJvmPropertyOverrides() {
        try (NodeDirectory dir = NodeDirectory.openOrFormat(tmp.resolve("n"), "c", "n1")) {
            ReplicationConfig c = ReplicationConfig.defaults("n1", "127.0.0.1", 0);
            RaftProperties p = RaftServerSettings.of(c, dir);
            assertEquals(SizeInBytes.valueOf(c.segmentSizeMax()), RaftServerConfigKeys.Log.segmentSizeMax(p));
            assertFalse(RaftServerConfigKeys.Log.logMetadataEnabled(p), "no METADATA entry per commit");
            assertFalse(RaftServerConfigKeys.Log.unsafeFlushEnabled(p), "the log is fsynced before an entry counts");
            assertEquals(1, RaftServerConfigKeys.Log.forceSyncNum(p),
                    "each log entry fsynced on its own, not after the next one's journal write (docs/benchmarks.md)");
            assertEquals(RaftServerConfigKeys.Read.Option.LINEARIZABLE, RaftServerConfigKeys.Read.option(p), "read fence");
            assertTrue(RaftServerConfigKeys.Read.leaderLeaseEnabled(p), "read index without a round trip");
            assertTrue(RaftServerConfigKeys.LeaderElection.preVote(p), "the lease and the short first election rely on pre-vote");
            assertEquals(150, RaftServerConfigKeys.Rpc.firstElectionTimeoutMax(p).toLong(java.util.concurrent.TimeUnit.MILLISECONDS),
                    "a new group elects its first leader well before the 600-1200 ms election timeout");
            assertFalse(RaftServerConfigKeys.Log.appendEntriesComposeEnabled(p),
                    "compose acknowledges entries it never appends (RatisComposeDropsEntriesTest)");
            assertEquals(SizeInBytes.valueOf(2L * c.batchMaxBytes()), org.apache.ratis.grpc.GrpcConfigKeys.flowControlWindow(p, m -> { }),
                    "a whole appender batch fits the gRPC window");

            System.setProperty("raft.server.log.segment.size.max", "64MB");
            try {
                assertEquals(SizeInBytes.valueOf("64MB"),
                        RaftServerConfigKeys.Log.segmentSizeMax(RaftServerSettings.of(c, dir)), "-D override applied last");
            } finally {
                System.clearProperty("raft.server.log.segment.size.max");
            }
        }
    }
}
