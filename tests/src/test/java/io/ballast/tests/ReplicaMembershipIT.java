package io.ballast.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ballast.proto.v1.GetVolumeRequest;
import io.ballast.proto.v1.NodeAdminGrpc;
import io.ballast.proto.v1.Peer;
import io.ballast.proto.v1.ReplicaStatus;
import io.ballast.proto.v1.Volume;
import io.ballast.replication.testing.Await;
import io.ballast.tests.harness.BallastNodeProcess;
import io.ballast.tests.harness.ExternalTool;
import io.ballast.tests.harness.ReplicatedCluster;
import io.ballast.tests.harness.TestDirs;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Membership changes of a live volume with real node processes: a replica added and another
 * removed while fio writes and verifies (crc32c) through the NBD export, and a node whose disk was
 * wiped re-added, rebuilt by block copy, and read through. Afterwards the replicas hold
 * byte-identical data, and the added replica holds a copy of the snapshot taken before it joined.
 */
class ReplicaMembershipIT {
    private static final String VOLUME = "members";
    /** Small, so the whole class stays near 2 minutes on 2 cores (a rebuild copies every byte). */
    private static final long SIZE = 128L << 20;

    private ReplicatedCluster cluster;

    @AfterEach
    void stop() {
        if (cluster != null) {
            cluster.close();
        }
    }

    @Test
    void replicaAddedAndAnotherRemovedUnderFioLeavesIdenticalReplicas() throws Exception {
        ExternalTool.require("fio", "fio");
        Path dir = TestDirs.fresh("membership");
        cluster = new ReplicatedCluster(dir, 4).start();
        createOn(0, 1, 2);
        String uri = cluster.cli(0, "attach", "--name", VOLUME).assertSuccess().stdout().trim();

        // Mistakes first: each says what was wrong and changes nothing.
        ExternalTool.Result help = ExternalTool.run(60, BallastNodeProcess.command("volume", "add-replica", "--help")).assertSuccess();
        assertTrue(help.stdout().contains("--replica") && help.stdout().contains("NODE=HOST:PORT"), help.stdout());
        ExternalTool.Result noAddress = cluster.cli(0, "add-replica", "--name", VOLUME, "--replica", "n4");
        assertEquals(2, noAddress.exitCode(), noAddress.describe());
        assertTrue(noAddress.stderr().contains("NODE=HOST:PORT"), noAddress.describe());
        ExternalTool.Result member = cluster.cli(0, "add-replica", "--name", VOLUME, "--replica", cluster.replica(1));
        assertEquals(1, member.exitCode(), member.describe());
        assertTrue(member.stderr().contains("ALREADY_EXISTS") && member.stderr().contains("n2"), member.describe());
        ExternalTool.Result unknown = cluster.cli(0, "remove-replica", "--name", "nosuch", "--replica", "n2");
        assertEquals(1, unknown.exitCode(), unknown.describe());
        assertTrue(unknown.stderr().contains("NOT_FOUND"), unknown.describe());
        assertEquals(List.of("n1", "n2", "n3"), memberIds(status(0)));

        // fio runs back to back (6 s each, each verifying its own writes) until both changes are
        // done, so the I/O spans them however long the rebuild takes on a loaded machine.
        AtomicBoolean writing = new AtomicBoolean(true);
        List<Path> reports = new CopyOnWriteArrayList<>();
        CompletableFuture<ExternalTool.Result> fio = CompletableFuture.supplyAsync(() -> {
            for (int seed = 1; ; seed++) {
                Path json = dir.resolve("fio-" + seed + ".json");
                reports.add(json);
                ExternalTool.Result r = fio(uri, json, 6, seed);
                if (r.exitCode() != 0 || !writing.get()) {
                    return r;
                }
            }
        });
        Thread.sleep(2000);
        // A snapshot before n4 exists: n4, rebuilt by block copy, never applies its entry and
        // fetches its copy from a peer instead.
        cluster.cli(0, "snapshot", "create", "--name", VOLUME, "--id", "before-n4").assertSuccess();

        // Add n4 while fio runs; sample its rebuild progress from n4 meanwhile.
        List<String> progress = new CopyOnWriteArrayList<>();
        AtomicBoolean adding = new AtomicBoolean(true);
        Thread sampler = Thread.ofVirtual().start(() -> sampleRebuild(3, adding, progress));
        long t0 = System.nanoTime();
        ExternalTool.Result added = cluster.cli(0, "add-replica", "--name", VOLUME, "--replica", cluster.replica(3)).assertSuccess();
        long addMs = (System.nanoTime() - t0) / 1_000_000;
        adding.set(false);
        sampler.join();
        assertTrue(added.stdout().contains("added n4"), added.describe());
        ReplicaStatus n4 = status(3).getReplicaStatus(0);
        // The first pass copies every block; a copy that outlasts the leader's log retention under
        // fio is followed by incremental passes (the status shows the last one).
        assertTrue(cluster.node(3).logText().contains("copying " + SIZE + " of " + SIZE + " bytes (every block)"),
                "n4 was rebuilt by a copy of every block: " + n4);
        // The membership change may commit while a later incremental pass still runs (Ratis counts
        // a staged peer as caught up within its catch-up gap; fio went on writing): CI saw the
        // last pass at 38 of 106 MB when add-replica returned. Its end is awaited, not assumed.
        Await.await(() -> {
            ReplicaStatus s = status(3).getReplicaStatus(0);
            return s.getRebuildBytesTotal() > 0 && s.getRebuildBytesDone() == s.getRebuildBytesTotal();
        }, 120, "n4's last rebuild pass reached its total (at add-replica's return: " + n4 + ")");
        long leaderCommit = status(0).getReplicaStatus(0).getCommitIndex();
        long t1 = System.nanoTime();
        awaitApplied(3, leaderCommit);
        long catchUpMs = (System.nanoTime() - t1) / 1_000_000;
        assertEquals(List.of("n1", "n2", "n3", "n4"), memberIds(status(1)));

        t0 = System.nanoTime();
        ExternalTool.Result removed = cluster.cli(0, "remove-replica", "--name", VOLUME, "--replica", "n3").assertSuccess();
        long removeMs = (System.nanoTime() - t0) / 1_000_000;
        Await.await(() -> cluster.cli(3, "snapshot", "list", "--name", VOLUME).stdout().contains("on n4: ready"), 60,
                "n4 holds a copy of the snapshot taken before it joined");
        assertTrue(cluster.node(3).logText().contains("copy of snapshot before-n4"), "fetched from a peer");
        assertTrue(removed.stdout().contains("its replica is deleted"), removed.describe());
        assertFalse(fio.isDone(), "fio failed during the changes:\n" + (fio.isDone() ? fio.get().describe() : ""));
        writing.set(false);
        assertEquals(List.of("n1", "n2", "n4"), memberIds(status(3)));
        StatusRuntimeException gone = org.junit.jupiter.api.Assertions.assertThrows(StatusRuntimeException.class, () -> status(2));
        assertEquals(Status.Code.NOT_FOUND, gone.getStatus().getCode());
        assertFalse(Files.exists(cluster.node(2).dataDir().resolve("volumes/" + VOLUME)), "n3's replica must be deleted");

        ExternalTool.Result last = fio.get(120, TimeUnit.SECONDS);
        long written = 0;
        for (Path json : reports) {
            assertFioClean(last, json);
            written += FioVerifyIT.bytesOf(new ExternalTool.Result(List.of(), 0, Files.readString(json), ""), "write");
        }
        System.out.printf("membership: add-replica n4 CLI took %d ms incl. its JVM start (rebuild progress seen on n4: %s), caught up %d ms later; "
                + "remove-replica n3 CLI took %d ms incl. its JVM start; %d fio runs wrote %d MiB with zero verify errors%n",
                addMs, progress, catchUpMs, removeMs, reports.size(), written >> 20);
        assertIdentical(List.of(0, 1, 3), dir);
    }

    @Test
    void nodeWipedAndReAddedIsRebuiltAndServesReadsIdenticalToTheOthers() throws Exception {
        ExternalTool.require("fio", "fio");
        ExternalTool.require("nbdcopy", "libnbd-bin");
        Path dir = TestDirs.fresh("membership-wipe");
        cluster = new ReplicatedCluster(dir, 3).start();
        createOn(0, 1, 2);
        String uri = cluster.cli(0, "attach", "--name", VOLUME).assertSuccess().stdout().trim();

        Path json = dir.resolve("fio.json");
        CompletableFuture<ExternalTool.Result> fio = CompletableFuture.supplyAsync(() -> fio(uri, json, 8, 100));
        Thread.sleep(3000);
        cluster.node(2).kill9(); // disk loss of n3 in the middle of the writes
        TestDirs.deleteTree(cluster.node(2).dataDir());
        assertFioClean(fio.get(120, TimeUnit.SECONDS), json);
        cluster.node(2).start(); // no cookie: it formats an empty data directory
        assertTrue(cluster.node(2).logText().contains("ballast node ready:"));
        assertThrowsNotFound(2);

        long t0 = System.nanoTime();
        ExternalTool.Result readded = cluster.cli(1, "add-replica", "--name", VOLUME, "--replica", cluster.replica(2)).assertSuccess();
        long addMs = (System.nanoTime() - t0) / 1_000_000;
        assertTrue(readded.stdout().contains("re-joined n3"), readded.describe());
        ReplicaStatus n3 = status(2).getReplicaStatus(0);
        assertTrue(cluster.node(2).logText().contains("copying " + SIZE + " of " + SIZE + " bytes (every block)"),
                "the wiped node was rebuilt by a copy of every block: " + n3);
        assertTrue(n3.getRebuildBytesTotal() > 0 && n3.getRebuildBytesDone() == n3.getRebuildBytesTotal(), n3.toString());
        assertEquals(List.of("n1", "n2", "n3"), memberIds(status(0)));
        awaitApplied(2, status(0).getReplicaStatus(0).getCommitIndex());

        // Read the whole volume through n3: attaching there fences n1 and serves reads from n3's replica.
        String n3uri = cluster.cli(2, "attach", "--name", VOLUME).assertSuccess().stdout().trim();
        Path readBack = dir.resolve("read-through-n3.img");
        ExternalTool.run(300, "nbdcopy", n3uri, readBack.toString()).assertSuccess();
        System.out.printf("membership: wiped n3 re-added and rebuilt in %d ms%n", addMs);
        List<Path> files = assertIdentical(List.of(0, 1, 2), dir);
        ExternalTool.Result cmp = ExternalTool.run(120, "cmp", files.get(0).toString(), readBack.toString());
        assertEquals(0, cmp.exitCode(), "reads through n3 differ from n1's replica: " + cmp.stdout());
    }

    // ---- helpers -------------------------------------------------------------------------

    private void createOn(int... nodes) {
        List<String> args = new ArrayList<>(List.of("--name", VOLUME, "--size", (SIZE >> 20) + "M"));
        args.addAll(cluster.replicaArgs(nodes));
        cluster.cli(0, "create", args.toArray(String[]::new)).assertSuccess();
    }

    private NodeAdminGrpc.NodeAdminBlockingStub admin(int i) {
        return cluster.adminStub(i);
    }

    private Volume status(int i) {
        return admin(i).getVolume(GetVolumeRequest.newBuilder().setName(VOLUME).build()).getVolume();
    }

    private void assertThrowsNotFound(int i) {
        StatusRuntimeException e = org.junit.jupiter.api.Assertions.assertThrows(StatusRuntimeException.class, () -> status(i));
        assertEquals(Status.Code.NOT_FOUND, e.getStatus().getCode(), e.toString());
    }

    private static List<String> memberIds(Volume v) {
        return v.getMembersList().stream().map(Peer::getNodeId).toList();
    }

    /** fio over NBD: 64 KiB random writes over the volume, each block verified (crc32c) right behind the writes. */
    private static ExternalTool.Result fio(String uri, Path json, int seconds, int seed) {
        return ExternalTool.run(300,
                "fio", "--name=members", "--ioengine=nbd", "--uri=" + uri, "--rw=randwrite", "--bs=64k",
                "--iodepth=8", "--size=" + (SIZE >> 20) + "m", "--time_based", "--runtime=" + seconds, "--verify=crc32c",
                "--verify_backlog=32", "--verify_fatal=1", "--verify_state_save=0", "--randseed=" + seed,
                "--output-format=json", "--output=" + json);
    }

    private void assertFioClean(ExternalTool.Result r, Path json) throws Exception {
        String report = Files.exists(json) ? Files.readString(json) : "";
        Matcher err = Pattern.compile("\"error\"\\s*:\\s*(\\d+)").matcher(report);
        assertTrue(err.find(), "no fio report in " + json + ":\n" + r.describe());
        assertEquals("0", err.group(1), json + ": fio saw an I/O or verify error:\n" + report);
        assertEquals(0, r.exitCode(), r.describe());
    }

    /** Polls node i's rebuild progress until {@code running} is cleared; records each new value. */
    private void sampleRebuild(int i, AtomicBoolean running, List<String> seen) {
        while (running.get()) {
            try {
                ReplicaStatus r = status(i).getReplicaStatus(0);
                String p = (r.getRebuildBytesDone() >> 20) + "/" + (r.getRebuildBytesTotal() >> 20) + " MiB";
                if (r.getRebuildBytesTotal() > 0 && (seen.isEmpty() || !seen.get(seen.size() - 1).equals(p))) {
                    seen.add(p);
                }
            } catch (StatusRuntimeException e) {
                // the group is not on the node yet
            }
            try {
                Thread.sleep(250);
            } catch (InterruptedException e) {
                return;
            }
        }
    }

    private void awaitApplied(int node, long index) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        long applied = -1;
        while (System.nanoTime() < deadline) {
            applied = status(node).getReplicaStatus(0).getAppliedIndex();
            if (applied >= index) {
                return;
            }
            Thread.sleep(200);
        }
        throw new AssertionError(ReplicatedCluster.nodeId(node) + " applied only " + applied + " of " + index
                + " within 60 s:\n" + cluster.node(node).logText());
    }

    /**
     * Waits until the given nodes applied the leader's commit index, stops every node cleanly and
     * checks the nodes' data files have one SHA-256; returns those files.
     */
    private List<Path> assertIdentical(List<Integer> nodes, Path dir) throws Exception {
        String leader = status(nodes.get(0)).getLeaderNodeId();
        int ref = nodes.stream().filter(i -> ReplicatedCluster.nodeId(i).equals(leader)).findFirst().orElse(nodes.get(0));
        long commit = status(ref).getReplicaStatus(0).getCommitIndex();
        for (int i : nodes) {
            awaitApplied(i, commit);
        }
        for (int i = 0; i < cluster.size(); i++) {
            if (cluster.node(i).isAlive()) {
                cluster.node(i).stopCleanly();
            }
        }
        List<String> cmd = new ArrayList<>(List.of("sha256sum"));
        List<Path> files = new ArrayList<>();
        for (int i : nodes) {
            Path data = dir.resolve(ReplicatedCluster.nodeId(i) + "/volumes/" + VOLUME + "/data");
            files.add(data);
            cmd.add(data.toString());
        }
        ExternalTool.Result sums = ExternalTool.run(120, cmd).assertSuccess();
        List<String> hashes = sums.stdout().lines().map(l -> l.split("\\s+")[0]).toList();
        assertEquals(nodes.size(), hashes.size(), sums.describe());
        assertEquals(1, hashes.stream().distinct().count(), "replicas differ:\n" + sums.stdout());
        System.out.println("membership: replicas identical, sha256 " + hashes.get(0));
        return files;
    }
}
