package io.ballast.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ballast.proto.v1.CreateSnapshotRequest;
import io.ballast.proto.v1.CreateSnapshotResponse;
import io.ballast.proto.v1.CreateVolumeRequest;
import io.ballast.proto.v1.CreateVolumeResponse;
import io.ballast.proto.v1.DeleteSnapshotRequest;
import io.ballast.proto.v1.DeleteVolumeRequest;
import io.ballast.proto.v1.DetachVolumeRequest;
import io.ballast.proto.v1.GetVolumeRequest;
import io.ballast.proto.v1.ListSnapshotsRequest;
import io.ballast.proto.v1.NodeAdminGrpc;
import io.ballast.proto.v1.Peer;
import io.ballast.proto.v1.Snapshot;
import io.ballast.proto.v1.SnapshotSource;
import io.ballast.proto.v1.Volume;
import io.ballast.tests.harness.BallastNodeProcess;
import io.ballast.tests.harness.ExternalTool;
import io.ballast.tests.harness.ReplicatedCluster;
import io.ballast.tests.harness.TestDirs;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

/**
 * Snapshots and clones with real node processes: pattern A written with nbdcopy, a snapshot, pattern
 * B written over it with fio, the snapshot on all three replicas (also after a kill -9 and restart
 * of one), a 3-replica clone filled from it that reads back A byte for byte (not B), then both
 * deleted; and the refusals: unknown volume, bad ids, missing snapshot, wrong node, too small.
 */
class SnapshotCloneIT {
    private static final long MIB = 1 << 20;
    /** 256 MiB with 192 MiB of data: the snapshot copy time per replica is the figure in docs/benchmarks.md. */
    private static final long SIZE = 256 * MIB;
    private static final long DATA = 192 * MIB;

    private ReplicatedCluster cluster;

    @AfterEach
    void stop() {
        if (cluster != null) {
            cluster.close();
        }
    }

    @Test
    void snapshotHoldsThePointInTimeOnEveryReplicaAndAFilledCloneReadsIt() throws Exception {
        ExternalTool.require("nbdcopy", "libnbd-bin");
        ExternalTool.require("fio", "fio");
        Path dir = TestDirs.fresh("snapshot-clone");
        cluster = new ReplicatedCluster(dir, 3).start();
        createVolume("src");
        String uri = cluster.cli(0, "attach", "--name", "src").assertSuccess().stdout().trim();

        // Pattern A: random data in the first 192 MiB, zeroes after.
        Path a = dir.resolve("pattern-a.img");
        try (RandomAccessFile f = new RandomAccessFile(a.toFile(), "rw")) {
            f.setLength(SIZE);
            byte[] chunk = new byte[(int) MIB];
            Random rnd = new Random(7);
            for (long off = 0; off < DATA; off += MIB) {
                rnd.nextBytes(chunk);
                f.write(chunk);
            }
        }
        ExternalTool.run(300, "nbdcopy", a.toString(), uri).assertSuccess();
        String shaA = sha256(a);

        // The snapshot, asked of a node that may not lead: every replica copies at one log index.
        ExternalTool.Result taken = cluster.cli(1, "snapshot", "create", "--name", "src", "--id", "s1").assertSuccess();
        assertTrue(taken.stdout().startsWith("created src@s1"), taken.describe());
        assertTrue(taken.stdout().contains("ready"), taken.describe());
        ExternalTool.Result again = cluster.cli(2, "snapshot", "create", "--name", "src", "--id", "s1").assertSuccess();
        assertTrue(again.stdout().startsWith("exists src@s1"), again.describe());

        // Pattern B over part of A, after the snapshot.
        ExternalTool.run(300, "fio", "--name=b", "--ioengine=nbd", "--uri=" + uri, "--rw=write", "--bs=1m",
                "--offset=16m", "--size=32m", "--iodepth=8", "--randrepeat=0", "--verify=crc32c",
                "--verify_state_save=0").assertSuccess();
        Path srcNow = dir.resolve("src-after-b.img");
        ExternalTool.run(300, "nbdcopy", uri, srcNow.toString()).assertSuccess();
        String shaSrcNow = sha256(srcNow);
        assertNotEquals(shaA, shaSrcNow, "pattern B changed the volume");

        List<Snapshot> listed = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            Snapshot s = awaitReady(i, "src", "s1");
            assertEquals(SIZE, s.getSizeBytes());
            assertEquals(ReplicatedCluster.nodeId(i), s.getNodeId());
            listed.add(s);
        }
        long index = listed.get(0).getLogIndex();
        assertTrue(listed.stream().allMatch(s -> s.getLogIndex() == index), "one point in time: " + listed);
        ExternalTool.Result list = cluster.cli(2, "snapshot", "list", "--name", "src").assertSuccess();
        assertTrue(list.stdout().contains("src@s1") && list.stdout().contains("on n3: ready"), list.describe());

        // kill -9 and restart a replica: its snapshot is still there, complete, at the same index.
        cluster.node(2).kill9();
        cluster.node(2).start();
        Snapshot afterRestart = awaitReady(2, "src", "s1");
        assertEquals(index, afterRestart.getLogIndex());

        // The clone: 3 replicas, filled on n1 (which holds s1), read back over NBD.
        long t0 = System.nanoTime();
        CreateVolumeResponse cloned = admin(0).withDeadlineAfter(10, TimeUnit.MINUTES).createVolume(cloneRequest("clone", SIZE,
                "src", "s1", 0, 1, 2));
        long fillMs = (System.nanoTime() - t0) / 1_000_000;
        assertTrue(cloned.getCreated());
        Volume clone = cloned.getVolume();
        assertTrue(clone.getClone().getFilled(), clone.toString());
        assertEquals("src", clone.getClone().getSource().getVolume());
        assertEquals(SIZE, clone.getClone().getBytesTotal());
        assertEquals(SIZE, clone.getClone().getBytesDone());
        assertEquals(3, clone.getMembersCount());
        assertFalse(admin(0).createVolume(cloneRequest("clone", SIZE, "src", "s1", 0, 1, 2)).getCreated(), "idempotent");
        ExternalTool.Result status = cluster.cli(1, "status", "--name", "clone").assertSuccess();
        assertTrue(status.stdout().contains("clone of src@s1  filled"), status.describe());

        String cloneUri = cluster.cli(0, "attach", "--name", "clone").assertSuccess().stdout().trim();
        Path cloneRead = dir.resolve("clone-read.img");
        ExternalTool.run(300, "nbdcopy", cloneUri, cloneRead.toString()).assertSuccess();
        String shaClone = sha256(cloneRead);
        assertEquals(shaA, shaClone, "the clone holds pattern A byte for byte");
        assertNotEquals(shaSrcNow, shaClone, "and not the writes made after the snapshot");

        String copyTimes = snapshotTimes();
        System.out.printf("snapshot-clone: snapshot of a %d MiB volume holding %d MiB per replica: %s; clone filled "
                + "(%d MiB of data through 3 replicas) in %d ms = %d MiB/s%n", SIZE >> 20, DATA >> 20, copyTimes,
                DATA >> 20, fillMs, (DATA >> 20) * 1000 / Math.max(1, fillMs));

        assertCode(Status.Code.FAILED_PRECONDITION, () -> admin(0).deleteVolume(DeleteVolumeRequest.newBuilder().setName("clone").build()));
        admin(0).detachVolume(DetachVolumeRequest.newBuilder().setName("clone").build());

        // A fill cut by kill -9 of the filling node: the progress was visible, the clone is not
        // FILLED after the restart, and repeating the create fills it.
        CompletableFuture<CreateVolumeResponse> cut = CompletableFuture.supplyAsync(() ->
                admin(0).withDeadlineAfter(10, TimeUnit.MINUTES).createVolume(cloneRequest("clone2", SIZE, "src", "s1", 0, 1, 2)));
        Volume.Builder seen = Volume.newBuilder();
        await(() -> {
            try {
                Volume v = admin(0).getVolume(GetVolumeRequest.newBuilder().setName("clone2").build()).getVolume();
                seen.mergeFrom(v);
                return v.getClone().getBytesDone() > 0 && v.getClone().getBytesDone() < v.getClone().getBytesTotal();
            } catch (StatusRuntimeException e) {
                return false; // the group is not created yet
            }
        }, "fill progress visible on n1");
        cluster.node(0).kill9();
        assertThrows(Exception.class, () -> cut.get(60, TimeUnit.SECONDS));
        cluster.node(0).start();
        Volume interrupted = admin(1).getVolume(GetVolumeRequest.newBuilder().setName("clone2").build()).getVolume();
        assertFalse(interrupted.getClone().getFilled(), "a cut fill is not FILLED: " + interrupted.getClone());
        awaitReady(0, "src", "s1");
        CreateVolumeResponse retried = admin(0).withDeadlineAfter(10, TimeUnit.MINUTES).createVolume(
                cloneRequest("clone2", SIZE, "src", "s1", 0, 1, 2));
        assertTrue(retried.getCreated(), "the interrupted fill was redone");
        assertTrue(retried.getVolume().getClone().getFilled());
        String clone2Uri = cluster.cli(0, "attach", "--name", "clone2").assertSuccess().stdout().trim();
        Path clone2Read = dir.resolve("clone2-read.img");
        ExternalTool.run(300, "nbdcopy", clone2Uri, clone2Read.toString()).assertSuccess();
        assertEquals(shaA, sha256(clone2Read), "the redone clone holds pattern A");
        admin(0).detachVolume(DetachVolumeRequest.newBuilder().setName("clone2").build());
        System.out.printf("snapshot-clone: fill cut by kill -9 at %d of %d MiB, redone on retry%n",
                seen.getClone().getBytesDone() >> 20, seen.getClone().getBytesTotal() >> 20);

        // Deletes: the snapshot on every replica, then the clones' replicas node by node (as the
        // controller does: DeleteVolume deletes the replica on the node asked).
        admin(1).deleteSnapshot(DeleteSnapshotRequest.newBuilder().setVolume("src").setSnapshotId("s1").build());
        admin(2).deleteSnapshot(DeleteSnapshotRequest.newBuilder().setVolume("src").setSnapshotId("s1").build()); // idempotent
        for (int i = 0; i < 3; i++) {
            int n = i;
            await(() -> admin(n).listSnapshots(ListSnapshotsRequest.newBuilder().setVolume("src").build())
                    .getSnapshotsCount() == 0, "s1 gone from n" + (i + 1));
            assertFalse(Files.exists(cluster.node(i).dataDir().resolve("snapshots/src/s1")));
        }
        for (String c : List.of("clone", "clone2")) {
            for (int i = 0; i < 3; i++) {
                admin(i).deleteVolume(DeleteVolumeRequest.newBuilder().setName(c).build());
                admin(i).deleteVolume(DeleteVolumeRequest.newBuilder().setName(c).build()); // idempotent
                assertTrue(notFound(i, c), c + " gone from n" + (i + 1));
                assertFalse(Files.exists(cluster.node(i).dataDir().resolve("volumes/" + c)));
            }
        }
        // A replica's snapshots go with it.
        admin(0).createSnapshot(snapshot("src", "s2"));
        awaitReady(2, "src", "s2");
        admin(2).deleteVolume(DeleteVolumeRequest.newBuilder().setName("src").build());
        assertFalse(Files.exists(cluster.node(2).dataDir().resolve("snapshots/src")), "n3's copy of s2 went with its replica");
        assertTrue(awaitReady(0, "src", "s2").getReady(), "the other replicas keep theirs");
    }

    @Test
    void badRequestsGetExactCodesAndCreateNothing() throws Exception {
        Path dir = TestDirs.fresh("snapshot-bad");
        cluster = new ReplicatedCluster(dir, 3).start();
        createVolume("src");
        NodeAdminGrpc.NodeAdminBlockingStub n1 = admin(0);

        assertCode(Status.Code.NOT_FOUND, () -> n1.createSnapshot(snapshot("nosuch", "s1")));
        for (String bad : List.of("", "bad/id", "-x", "a b", "x".repeat(129), "../s")) {
            assertCode(Status.Code.INVALID_ARGUMENT, () -> n1.createSnapshot(snapshot("src", bad)));
            assertCode(Status.Code.INVALID_ARGUMENT, () -> n1.deleteSnapshot(DeleteSnapshotRequest.newBuilder()
                    .setVolume("src").setSnapshotId(bad).build()));
        }
        assertCode(Status.Code.INVALID_ARGUMENT, () -> n1.createSnapshot(snapshot("bad/vol", "s1")));
        assertEquals(0, n1.listSnapshots(ListSnapshotsRequest.newBuilder().setVolume("src").build()).getSnapshotsCount());
        n1.createSnapshot(snapshot("src", "s1"));

        // Clones that must be refused, each creating nothing anywhere.
        assertCode(Status.Code.NOT_FOUND, () -> n1.createVolume(cloneRequest("c1", SIZE, "src", "nope", 0, 1, 2)));
        assertCode(Status.Code.NOT_FOUND, () -> n1.createVolume(cloneRequest("c2", SIZE, "nosuch", "s1", 0, 1, 2)));
        assertCode(Status.Code.FAILED_PRECONDITION, () -> n1.createVolume(cloneRequest("c3", SIZE, "src", "s1", 1, 2)));
        assertCode(Status.Code.OUT_OF_RANGE, () -> n1.createVolume(cloneRequest("c4", SIZE / 2, "src", "s1", 0, 1, 2)));
        assertCode(Status.Code.INVALID_ARGUMENT, () -> n1.createVolume(cloneRequest("c5", SIZE, "src", "bad/id", 0, 1, 2)));
        for (String c : List.of("c1", "c2", "c3", "c4", "c5")) {
            for (int i = 0; i < 3; i++) {
                assertTrue(notFound(i, c), c + " must not exist on n" + (i + 1));
            }
        }
        ExternalTool.Result cli = cluster.cli(0, "create", "--name", "c6", "--size", "256M", "--from-snapshot", "src");
        assertEquals(2, cli.exitCode(), cli.describe());
        assertTrue(cli.stderr().contains("VOLUME@SNAPSHOT"), cli.describe());
        ExternalTool.Result help = ExternalTool.run(60, BallastNodeProcess.command("volume", "snapshot", "--help")).assertSuccess();
        assertTrue(help.stdout().contains("create") && help.stdout().contains("delete") && help.stdout().contains("list"),
                help.stdout());
        // A plain create of an existing clone's name, and the reverse, are refused with ALREADY_EXISTS.
        n1.withDeadlineAfter(5, TimeUnit.MINUTES).createVolume(cloneRequest("c7", SIZE, "src", "s1", 0, 1, 2));
        assertCode(Status.Code.ALREADY_EXISTS, () -> n1.createVolume(CreateVolumeRequest.newBuilder().setName("c7")
                .setSizeBytes(SIZE).addAllPeers(peers(0, 1, 2)).build()));
        assertCode(Status.Code.ALREADY_EXISTS, () -> n1.createVolume(cloneRequest("src", SIZE, "src", "s1", 0, 1, 2)));
    }

    // ---- helpers -------------------------------------------------------------------------

    private void createVolume(String name) {
        List<String> args = new ArrayList<>(List.of("--name", name, "--size", (SIZE >> 20) + "M"));
        args.addAll(cluster.replicaArgs(0, 1, 2));
        cluster.cli(0, "create", args.toArray(String[]::new)).assertSuccess();
    }

    private NodeAdminGrpc.NodeAdminBlockingStub admin(int i) {
        return cluster.adminStub(i);
    }

    private static CreateSnapshotRequest snapshot(String volume, String id) {
        return CreateSnapshotRequest.newBuilder().setVolume(volume).setSnapshotId(id).build();
    }

    private List<Peer> peers(int... nodes) {
        List<Peer> peers = new ArrayList<>();
        for (int i : nodes) {
            peers.add(Peer.newBuilder().setNodeId(ReplicatedCluster.nodeId(i)).setRaftAddress(cluster.raftAddress(i)).build());
        }
        return peers;
    }

    private CreateVolumeRequest cloneRequest(String name, long size, String volume, String snapshot, int... nodes) {
        return CreateVolumeRequest.newBuilder().setName(name).setSizeBytes(size).addAllPeers(peers(nodes))
                .setSource(SnapshotSource.newBuilder().setVolume(volume).setSnapshotId(snapshot)).build();
    }

    private Snapshot awaitReady(int node, String volume, String id) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        List<Snapshot> last = List.of();
        while (System.nanoTime() < deadline) {
            try {
                last = admin(node).listSnapshots(ListSnapshotsRequest.newBuilder().setVolume(volume).build()).getSnapshotsList();
                for (Snapshot s : last) {
                    if (s.getId().equals(id) && s.getReady()) {
                        return s;
                    }
                }
            } catch (StatusRuntimeException e) {
                // a node restarting: not answering yet
            }
            Thread.sleep(200);
        }
        throw new AssertionError(volume + "@" + id + " not ready on n" + (node + 1) + " within 60 s: " + last);
    }

    private boolean notFound(int node, String volume) {
        try {
            admin(node).getVolume(GetVolumeRequest.newBuilder().setName(volume).build());
            return false;
        } catch (StatusRuntimeException e) {
            return e.getStatus().getCode() == Status.Code.NOT_FOUND;
        }
    }

    private static void await(java.util.function.BooleanSupplier cond, String what) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (!cond.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out: " + what);
            }
            Thread.sleep(100);
        }
    }

    private static void assertCode(Status.Code code, Executable call) {
        StatusRuntimeException e = assertThrows(StatusRuntimeException.class, call);
        assertEquals(code, e.getStatus().getCode(), e.getStatus().toString());
        assertFalse(String.valueOf(e.getStatus().getDescription()).isBlank(), "the refusal says why");
    }

    private static String sha256(Path file) {
        return ExternalTool.run(120, "sha256sum", file.toString()).assertSuccess().stdout().split("\\s+")[0];
    }

    /** "snapshot s1 of volume src taken (... in N ms)" from each node's log. */
    private String snapshotTimes() {
        List<String> times = new ArrayList<>();
        Pattern p = Pattern.compile("snapshot s1 of volume src taken \\((.*?)\\)");
        for (int i = 0; i < 3; i++) {
            Matcher m = p.matcher(cluster.node(i).logText());
            if (m.find()) {
                times.add("n" + (i + 1) + " " + m.group(1));
            }
        }
        return String.join("; ", times);
    }
}
