package io.ballast.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ballast.proto.v1.AttachVolumeRequest;
import io.ballast.proto.v1.AttachVolumeResponse;
import io.ballast.proto.v1.DetachVolumeRequest;
import io.ballast.tests.harness.ExternalTool;
import io.ballast.tests.harness.ReplicatedCluster;
import io.ballast.tests.harness.TestDirs;
import io.ballast.tests.history.History;
import io.ballast.tests.history.HistoryClients;
import io.ballast.tests.history.HistoryOp;
import io.ballast.tests.history.RegisterChecker;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * A multi-writer block volume (CSI MULTI_NODE_MULTI_WRITER, what KubeVirt's live migration needs)
 * on three real node processes: n1 and n2 attach it shared; clients on both write and read the
 * same blocks and the history is linearizable per block; fio writes through both at once; every
 * read on one node sees what the other node had acknowledged before it (no pause between the
 * write on one and the read on the other); the migration's source detaches while the target keeps
 * writing; an exclusive attach then fences both. The replicas end byte-identical.
 */
class SharedWritersIT {
    private static final String VOLUME = "rwx";
    private static final String MIB = "m";

    private ReplicatedCluster cluster;
    private final ExecutorService threads = Executors.newFixedThreadPool(2);

    @AfterEach
    void stop() {
        threads.shutdownNow();
        if (cluster != null) {
            cluster.close();
        }
    }

    @Test
    void twoSharedAttachmentsWriteAtOnceAndReadEachOthersWrites() throws Exception {
        ExternalTool.require("fio", "fio");
        Path dir = TestDirs.fresh("shared-writers");
        cluster = new ReplicatedCluster(dir, 3).start();
        List<String> create = new ArrayList<>(List.of("--name", VOLUME, "--size", "128M"));
        create.addAll(cluster.replicaArgs());
        cluster.cli(0, "create", create.toArray(String[]::new)).assertSuccess();

        AttachVolumeResponse first = attach(0, true);
        AttachVolumeResponse second = attach(1, true);
        assertEquals(first.getWriterEpoch(), second.getWriterEpoch(), "the second shared attach joins the first's epoch");
        assertEquals(1, first.getWriterEpoch() & 1, "a shared epoch is odd");
        assertEquals(first.getWriterEpoch(), attach(0, true).getWriterEpoch(), "attaching again is idempotent");
        String uri1 = first.getNbdUri();
        String uri2 = second.getNbdUri();

        // 1. Overlapping writes: clients on both nodes write unique values (FUA) to the same few
        // blocks and read them; the history must be linearizable per block (RegisterChecker).
        History history = new History();
        HistoryClients onFirst = new HistoryClients(history, () -> cluster.node(0).socket(), VOLUME, 0, 3, 8, 1 << 20, 11).start();
        HistoryClients onSecond = new HistoryClients(history, () -> cluster.node(1).socket(), VOLUME, 3, 3, 8, 1 << 20, 12).start();
        Thread.sleep(10_000);
        onFirst.close();
        onSecond.close();
        onFirst.readAll(6);
        List<HistoryOp> ops = history.ops();
        List<RegisterChecker.Violation> violations = RegisterChecker.check(ops);
        long writes = ops.stream().filter(o -> o.kind() == HistoryOp.Kind.WRITE).count();
        System.out.printf("shared writers: %d operations (%d writes) on 8 blocks from 2 nodes, %d violations%n", ops.size(),
                writes, violations.size());
        assertEquals(0, onFirst.errors() + onSecond.errors(), "NBD errors on shared attachments");
        assertTrue(writes > 100, "too few writes to mean anything: " + writes);
        assertEquals(List.of(), violations.stream().map(v -> v.describe(history.origin())).toList());

        // 2. Both write at once, each its own 32 MiB, verifying right behind; then each region is
        // verified through the other node.
        CompletableFuture<ExternalTool.Result> w1 = CompletableFuture.supplyAsync(() -> fio(uri1, region(0, 1)), threads);
        CompletableFuture<ExternalTool.Result> w2 = CompletableFuture.supplyAsync(() -> fio(uri2, region(32, 2)), threads);
        assertClean(w1.get(300, TimeUnit.SECONDS), "writer on n1");
        assertClean(w2.get(300, TimeUnit.SECONDS), "writer on n2");
        assertClean(fio(uri2, verifyOnly(region(0, 1))), "n1's region read through n2");
        assertClean(fio(uri1, verifyOnly(region(32, 2))), "n2's region read through n1");

        // 3. Read-after-write across nodes with no pause: a write acknowledged on one node is what
        // the other node reads next (its read waits for a read-index round begun after it arrived).
        for (int round = 0; round < 20; round++) {
            String writer = round % 2 == 0 ? uri1 : uri2;
            String reader = round % 2 == 0 ? uri2 : uri1;
            List<String> job = List.of("--rw=write", "--bs=64k", "--size=1m", "--offset=" + (64 + round % 4) + MIB,
                    "--randseed=" + (100 + round), "--verify=crc32c");
            assertClean(fio(writer, with(job, "--do_verify=0")), "round " + round + " write");
            assertClean(fio(reader, verifyOnly(job)), "round " + round + ": the other node reads the write just acknowledged");
        }

        // 4. Live migration's end: the target keeps writing while the source detaches.
        CompletableFuture<ExternalTool.Result> target = CompletableFuture.supplyAsync(() -> fio(uri2, region(80, 3)), threads);
        cluster.adminStub(0).detachVolume(DetachVolumeRequest.newBuilder().setName(VOLUME).build());
        assertClean(target.get(300, TimeUnit.SECONDS), "writer on n2 while n1 detached");
        assertClean(fio(uri2, verifyOnly(region(0, 1))), "n1's writes, read on n2 after the migration");

        // 5. An exclusive attach (no --shared) fences every shared writer.
        AttachVolumeResponse exclusive = attach(2, false);
        assertEquals(0, exclusive.getWriterEpoch() & 1, "an exclusive epoch is even");
        assertTrue(exclusive.getWriterEpoch() > first.getWriterEpoch());
        ExternalTool.Result fenced = fio(uri2, List.of("--rw=write", "--bs=64k", "--size=64k", "--offset=120m"));
        assertNotEquals(0, fenced.exitCode(), "a write through n2 after the exclusive attach on n3 must fail:\n" + fenced.describe());
        assertClean(fio(exclusive.getNbdUri(), verifyOnly(region(80, 3))), "the target's writes, read on n3");

        cluster.assertReplicasIdentical(VOLUME);
    }

    private AttachVolumeResponse attach(int node, boolean shared) {
        return cluster.adminStub(node).attachVolume(AttachVolumeRequest.newBuilder().setName(VOLUME).setShared(shared).build());
    }

    /** 32 MiB at {@code offsetMiB}, random 64 KiB writes with crc32c verification right behind them. */
    private static List<String> region(int offsetMiB, int seed) {
        return List.of("--rw=randwrite", "--bs=64k", "--iodepth=8", "--size=32m", "--offset=" + offsetMiB + MIB,
                "--randseed=" + seed, "--verify=crc32c", "--verify_backlog=16", "--verify_fatal=1");
    }

    private static List<String> verifyOnly(List<String> job) {
        List<String> out = new ArrayList<>(job);
        out.removeIf(a -> a.startsWith("--do_verify") || a.startsWith("--verify_backlog"));
        out.add("--verify_only");
        return out;
    }

    private static List<String> with(List<String> job, String arg) {
        List<String> out = new ArrayList<>(job);
        out.add(arg);
        return out;
    }

    private static ExternalTool.Result fio(String uri, List<String> job) {
        List<String> cmd = new ArrayList<>(List.of("fio", "--name=rwx", "--ioengine=nbd", "--uri=" + uri));
        cmd.addAll(job);
        return ExternalTool.run(300, cmd);
    }

    private static void assertClean(ExternalTool.Result r, String what) {
        assertEquals(0, r.exitCode(), what + ":\n" + r.describe());
        assertTrue(r.stdout().contains("err= 0"), what + ":\n" + r.describe());
    }
}
