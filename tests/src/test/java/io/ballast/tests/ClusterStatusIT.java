package io.ballast.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.ballast.proto.csi.v1.CapacityRange;
import io.ballast.proto.csi.v1.CreateVolumeRequest;
import io.ballast.proto.csi.v1.ProbeRequest;
import io.ballast.proto.csi.v1.VolumeCapability;
import io.ballast.replication.testing.FreePorts;
import io.ballast.tests.harness.BallastNodeProcess;
import io.ballast.tests.harness.CsiClient;
import io.ballast.tests.harness.RawNbdClient;
import io.ballast.tests.harness.ReplicatedCluster;
import io.ballast.tests.harness.TestDirs;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The cluster-wide CLI (issue 11): {@code ballast status} and {@code ballast volume ...} find the
 * cluster with no address flag when run where {@code dev up} runs, accept the name the user gave,
 * see a killed node turn a volume degraded within the down-after time, and say which address they
 * tried, what failed and what to check (exit 2) when nothing answers.
 */
class ClusterStatusIT {
    private ReplicatedCluster cluster;
    private BallastNodeProcess controller;
    private CsiClient csi;

    /** What a CLI run printed and returned. */
    record Cli(int exit, String out, String err) {
    }

    @AfterEach
    void stop() {
        if (csi != null) {
            csi.close();
        }
        if (controller != null) {
            controller.close();
        }
        if (cluster != null) {
            cluster.close();
        }
    }

    @Test
    @Timeout(value = 240, unit = TimeUnit.SECONDS)
    void fromTheDevUpDirectoryStatusAndVolumeStatusNeedNoAddress() throws Exception {
        Path cwd = TestDirs.fresh("status-dev");
        int base = DevUpIT.freeBase();
        Process dev = DevUpIT.start(cwd.resolve("ballast-dev"), base, "dev", "--no-mount");
        try {
            String devOut = Files.readString(cwd.resolve("dev.out"));
            assertTrue(devOut.contains("try: bin/ballast status") && devOut.contains("metrics: https://127.0.0.1:"), devOut);
            // "1 volume (0 healthy)" contains "healthy" too: wait for the volume's own row. Replicas
            // are listed in placement order, which follows the nodes' free space (so not by name).
            Pattern healthyRow = Pattern.compile("(?s).*vol1\\s+vol1-\\S+\\s+1 GiB\\s+3 \\((n[123]) (?!\\1)(n[123]) (?!\\1|\\2)n[123]\\)"
                    + "\\s+n[123]\\s+n1\\s+healthy.*");
            Cli status = awaitCli(cwd, out -> healthyRow.matcher(out).matches(), 30, "status");
            System.out.println("ballast status (dev up, run from its directory):\n" + status.out());
            assertTrue(status.out().contains("3 nodes (3 up)"), status.out());
            // The leader column is as of the nodes' last heartbeats (every 2 s): it may still name the
            // node that led before the attach moved leadership to n1.
            assertTrue(healthyRow.matcher(status.out()).matches(),
                    "vol1: 3 replicas, a leader, attached on n1, healthy:\n" + status.out());
            Cli volume = cli(cwd, "volume", "status", "vol1");
            assertEquals(0, volume.exit(), volume.err());
            assertTrue(volume.out().startsWith("vol1-") && volume.out().contains("attached=n1"), volume.out());
            assertTrue(volume.out().contains("members n1=") && volume.out().contains(" n2=") && volume.out().contains(" n3="),
                    "three replicas:\n" + volume.out());
            Cli list = cli(cwd, "volume", "list");
            assertTrue(list.out().startsWith("vol1  id=vol1-")
                    && Pattern.compile("(?s).*replicas=3 \\((n[123]) (?!\\1)(n[123]) (?!\\1|\\2)n[123]\\).*").matcher(list.out()).matches(),
                    list.out());
            Cli json = cli(cwd, "status", "--output", "json");
            assertTrue(json.out().contains("\"condition\": \"healthy\"") && json.out().contains("\"answeredBy\""), json.out());
        } finally {
            DevUpIT.stop(dev);
        }
    }

    @Test
    @Timeout(value = 240, unit = TimeUnit.SECONDS)
    void aKilledNodeTurnsItsVolumesDegradedAndADeadAddressExitsTwo() throws Exception {
        Path dir = TestDirs.fresh("status-kill");
        cluster = new ReplicatedCluster(dir, 3, 3).start();
        Path socket = dir.resolve("csi.sock");
        int controllerMetrics = FreePorts.next();
        controller = BallastNodeProcess.controller("controller", dir, List.of("--cluster-id", ReplicatedCluster.CLUSTER_ID,
                "--catalog", cluster.catalogArg(3), "--csi-endpoint", "unix://" + socket,
                "--metrics-listen", "127.0.0.1:" + controllerMetrics)).start();
        csi = new CsiClient(socket);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (!csi.identity().probe(ProbeRequest.getDefaultInstance()).getReady().getValue()) {
            assertTrue(System.nanoTime() < deadline, "controller not ready");
            Thread.sleep(200);
        }
        VolumeCapability rwo = VolumeCapability.newBuilder().setBlock(VolumeCapability.BlockVolume.getDefaultInstance())
                .setAccessMode(VolumeCapability.AccessMode.newBuilder().setMode(VolumeCapability.AccessMode.Mode.SINGLE_NODE_WRITER))
                .build();
        String id = null;
        while (id == null) { // nodes register with their first heartbeats
            try {
                id = csi.controller().createVolume(CreateVolumeRequest.newBuilder().setName("pvc-status")
                        .addVolumeCapabilities(rwo).setCapacityRange(CapacityRange.newBuilder().setRequiredBytes(64L << 20))
                        .putParameters("replicas", "3").build()).getVolume().getVolumeId();
            } catch (io.grpc.StatusRuntimeException e) {
                assertTrue(System.nanoTime() < deadline, "CreateVolume: " + e);
                Thread.sleep(500);
            }
        }
        String both = cluster.admin(0) + "," + cluster.admin(1);
        Cli healthy = awaitCli(dir, out -> out.contains("pvc-status") && out.contains("healthy"), 30, "status", "--cluster", both);
        assertTrue(healthy.out().contains(id), healthy.out());
        Cli byName = cli(dir, "volume", "status", "pvc-status", "--cluster", both);
        assertEquals(0, byName.exit(), byName.err());
        assertTrue(byName.out().startsWith(id), "the CSI name resolves to the id:\n" + byName.out());

        // The Grafana dashboard queries only metrics that the nodes and the controller export: attach
        // the volume and move some bytes so that per-volume series exist, then scrape everything.
        cluster.cli(0, "attach", "--name", id).assertSuccess();
        try (RawNbdClient nbd = RawNbdClient.connect(cluster.node(0).socket()).handshake(id)) {
            nbd.request(0, RawNbdClient.CMD_WRITE, 1, 0, 4096, new byte[4096]);
            assertEquals(0, nbd.reply(0).error());
            nbd.read(0, 4096);
            nbd.request(0, RawNbdClient.CMD_READ, 2, 1L << 40, 4096, null); // beyond the end: an NBD error (errno series)
            assertTrue(nbd.reply(4096).error() != 0, "a read past the end fails");
        }
        StringBuilder exposition = new StringBuilder(ReplicatedCluster.scrape("http://127.0.0.1:" + controllerMetrics + "/metrics"));
        for (int i = 0; i < 3; i++) {
            exposition.append(ReplicatedCluster.scrape(cluster.metricsUrl(i)));
        }
        Set<String> exported = new TreeSet<>();
        for (String line : exposition.toString().split("\n")) {
            Matcher m = SAMPLE.matcher(line);
            if (m.lookingAt()) {
                exported.add(m.group(1));
            }
        }
        Set<String> queried = dashboardMetrics(Path.of("..", "deploy", "grafana", "ballast-dashboard.json"));
        assertTrue(queried.size() >= 15, "the dashboard queries " + queried);
        Set<String> missing = new TreeSet<>(queried);
        missing.removeAll(exported);
        assertEquals(Set.of(), missing, "metrics the dashboard queries that no node or controller exports (exported: "
                + exported + ")");

        cluster.node(2).kill9();
        long killed = System.nanoTime();
        Cli degraded = awaitCli(dir, out -> out.contains("n3 down"), 30, "status", "--cluster", both);
        long seconds = TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - killed);
        System.out.println("ballast status " + seconds + " s after n3 was killed:\n" + degraded.out());
        assertTrue(seconds <= 10 + 2 + 3, "degraded after " + seconds + " s; down-after is 10 s, heartbeats every 2 s");
        assertTrue(degraded.out().contains("degraded: n3 down"), degraded.out());

        int dead = FreePorts.next(); // nothing listens there, and no other part of the suite is given it
        Cli refused = cli(dir, "status", "--cluster", "127.0.0.1:" + dead);
        assertEquals(2, refused.exit(), refused.out() + refused.err());
        assertTrue(refused.err().contains("127.0.0.1:" + dead) && refused.err().contains("nothing answers there")
                && refused.err().contains("check that a Ballast node runs there"), refused.err());
        assertTrue(!refused.err().contains("io exception"), refused.err());
        Cli noAddress = cli(dir, "status");
        assertEquals(2, noAddress.exit(), noAddress.err());
        assertTrue(noAddress.err().contains("no cluster address"), noAddress.err());
    }

    /** The metric name of a sample line of the text exposition (comments excluded). */
    private static final Pattern SAMPLE = Pattern.compile("([a-zA-Z_:][a-zA-Z0-9_:]*)[{ ]");
    /** Names of Ballast metrics inside a PromQL expression. */
    private static final Pattern METRIC = Pattern.compile("\\b(ballast_[a-z0-9_]+)\\b");

    /** Every metric name the dashboard's queries ("expr" fields) use. */
    static Set<String> dashboardMetrics(Path dashboard) throws IOException {
        Set<String> names = new TreeSet<>();
        Matcher expr = Pattern.compile("\"expr\": \"((?:[^\"\\\\]|\\\\.)*)\"").matcher(Files.readString(dashboard));
        while (expr.find()) {
            Matcher m = METRIC.matcher(expr.group(1));
            while (m.find()) {
                names.add(m.group(1));
            }
        }
        return names;
    }

    /** Runs the CLI until its output satisfies {@code done} (exit 0), for up to {@code seconds}. */
    private static Cli awaitCli(Path cwd, java.util.function.Predicate<String> done, int seconds, String... args)
            throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        Cli last;
        do {
            last = cli(cwd, args);
            if (last.exit() == 0 && done.test(last.out())) {
                return last;
            }
            Thread.sleep(500);
        } while (System.nanoTime() < deadline);
        fail("ballast " + String.join(" ", args) + " did not show it within " + seconds + " s; last (exit " + last.exit()
                + "):\n" + last.out() + last.err());
        return last;
    }

    /** {@code ballast ARGS} run in {@code cwd}, without BALLAST_CLUSTER from this environment. */
    private static Cli cli(Path cwd, String... args) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(BallastNodeProcess.command(args));
        ProcessBuilder pb = new ProcessBuilder(cmd).directory(cwd.toFile());
        pb.environment().remove("BALLAST_CLUSTER");
        Path out = Files.createTempFile(cwd, "cli", ".out");
        Path err = Files.createTempFile(cwd, "cli", ".err");
        Process p = pb.redirectOutput(out.toFile()).redirectError(err.toFile()).start();
        if (!p.waitFor(60, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            fail("ballast " + String.join(" ", args) + " did not finish in 60 s");
        }
        Cli r = new Cli(p.exitValue(), Files.readString(out, StandardCharsets.UTF_8), Files.readString(err, StandardCharsets.UTF_8));
        Files.delete(out);
        Files.delete(err);
        return r;
    }
}
