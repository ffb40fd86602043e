package io.ballast.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ballast.proto.v1.AttachVolumeRequest;
import io.ballast.proto.v1.GetVolumeRequest;
import io.ballast.proto.v1.Peer;
import io.ballast.tests.harness.ExternalTool;
import io.ballast.tests.harness.RawNbdClient;
import io.ballast.tests.harness.ReplicatedCluster;
import io.ballast.tests.harness.TestDirs;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A volume attached on a node that holds none of its replicas (issue 13: usable from every node):
 * four node processes, the volume's three replicas on n1-n3, its frontend on n4, where every read
 * and write goes to the group's leader. fio writes with crc32c verification while the leader is
 * killed (kill -9) and restarted, twice: no I/O or verify error. Then the volume is attached on n1
 * and n4's diskless frontend is fenced: its reads fail, never return data.
 */
class DisklessFrontendIT {
    private static final String VOLUME = "diskless";
    private ReplicatedCluster cluster;

    @AfterEach
    void stop() {
        if (cluster != null) {
            cluster.close();
        }
    }

    @Test
    @Timeout(value = 300, unit = TimeUnit.SECONDS)
    void aFrontendWithoutAReplicaSurvivesLeaderKillsAndIsFenced() throws Exception {
        ExternalTool.require("fio", "fio");
        Path dir = TestDirs.fresh("diskless");
        cluster = new ReplicatedCluster(dir, 4).start();
        List<String> create = new ArrayList<>(List.of("--name", VOLUME, "--size", "128M"));
        create.addAll(cluster.replicaArgs(0, 1, 2));
        cluster.cli(0, "create", create.toArray(String[]::new)).assertSuccess();
        AttachVolumeRequest.Builder attach = AttachVolumeRequest.newBuilder().setName(VOLUME);
        for (int i = 0; i < 3; i++) {
            attach.addPeers(Peer.newBuilder().setNodeId(ReplicatedCluster.nodeId(i)).setRaftAddress(cluster.raftAddress(i)));
        }
        String uri = cluster.adminStub(3).attachVolume(attach.build()).getNbdUri();
        assertTrue(uri.contains(cluster.node(3).socket().toString()), uri);
        assertEquals("n4", cluster.adminStub(3).getVolume(GetVolumeRequest.newBuilder().setName(VOLUME).build())
                .getVolume().getAttachedNodeId());

        for (int cycle = 0; cycle < 2; cycle++) {
            int leader = leaderIndex();
            Path json = dir.resolve("fio-" + cycle + ".json");
            String seed = "--randseed=" + cycle;
            CompletableFuture<ExternalTool.Result> fio = CompletableFuture.supplyAsync(() -> ExternalTool.run(300,
                    "fio", "--name=diskless", "--ioengine=nbd", "--uri=" + uri, "--rw=randwrite", "--bs=64k",
                    "--iodepth=8", "--size=96m", "--time_based", "--runtime=8", "--verify=crc32c",
                    "--verify_backlog=32", "--verify_fatal=1", seed,
                    "--output-format=json", "--output=" + json), Executors.newSingleThreadExecutor());
            Thread.sleep(1500);
            cluster.node(leader).kill9();
            Thread.sleep(1500);
            cluster.node(leader).start();
            ExternalTool.Result r = fio.get(300, TimeUnit.SECONDS);
            String report = Files.readString(json);
            Matcher err = Pattern.compile("\"error\"\\s*:\\s*(\\d+)").matcher(report);
            assertTrue(err.find(), "no fio report:\n" + r.describe());
            assertEquals("0", err.group(1), "cycle " + cycle + " (killed the leader, n" + (leader + 1)
                    + "): fio saw an I/O or verify error through the diskless frontend:\n" + r.describe());
            assertEquals(0, r.exitCode(), r.describe());
            System.out.printf("diskless: cycle %d, leader n%d killed and restarted under fio: %d MiB written, "
                    + "read back and verified, no error%n", cycle, leader + 1,
                    FioVerifyIT.bytesOf(new ExternalTool.Result(List.of(), 0, report, ""), "write") >> 20);
        }

        // Attached elsewhere now: n4's frontend is fenced, its reads fail.
        cluster.cli(0, "attach", "--name", VOLUME).assertSuccess();
        try (RawNbdClient s = RawNbdClient.connect(cluster.node(3).socket()).handshake(VOLUME)) {
            s.request(0, RawNbdClient.CMD_READ, 1, 0, 4096, null);
            assertTrue(s.reply(4096).error() != 0, "a fenced diskless frontend answered a read with data");
        }
        assertEquals("n4", cluster.adminStub(3).getVolume(GetVolumeRequest.newBuilder().setName(VOLUME).build())
                .getVolume().getFencedNodeId());
    }

    private int leaderIndex() throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (System.nanoTime() < deadline) {
            for (int i = 0; i < 3; i++) {
                try {
                    String id = cluster.adminStub(i).getVolume(GetVolumeRequest.newBuilder().setName(VOLUME).build())
                            .getVolume().getLeaderNodeId();
                    if (!id.isEmpty()) {
                        return Integer.parseInt(id.substring(1)) - 1;
                    }
                } catch (io.grpc.StatusRuntimeException e) {
                    // starting
                }
            }
            Thread.sleep(200);
        }
        throw new AssertionError("no leader");
    }
}
