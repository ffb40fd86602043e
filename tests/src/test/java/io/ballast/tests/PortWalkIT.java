package io.ballast.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.ballast.engine.error.BallastException;
import io.ballast.proto.v1.CatalogCommand;
import io.ballast.proto.v1.CatalogNode;
import io.ballast.proto.v1.DeleteVolumeRequest;
import io.ballast.proto.v1.ListVolumesRequest;
import io.ballast.proto.v1.NodeAdminGrpc;
import io.ballast.replication.catalog.CatalogClient;
import io.ballast.replication.testing.FreePorts;
import io.ballast.replication.tls.ClusterCa;
import io.ballast.replication.tls.RaftTls;
import io.ballast.replication.tls.TlsDir;
import io.ballast.replication.tls.TlsMaterial;
import io.ballast.tests.harness.BallastNodeProcess;
import io.ballast.tests.harness.ExternalTool;
import io.ballast.tests.harness.ListeningPorts;
import io.ballast.tests.harness.ReplicatedCluster;
import io.ballast.tests.harness.TestDirs;
import io.ballast.tests.harness.TlsProbe;
import io.ballast.tests.harness.TlsProbe.Caller;
import io.ballast.tls.GrpcTls;
import io.grpc.ManagedChannel;
import io.grpc.StatusRuntimeException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Issue 18's walk: every TCP port a running TLS cluster listens on (found in /proc, not from a
 * list, so a port added later without TLS fails this test), called by each kind of outsider — no
 * TLS, TLS without a client certificate, a certificate of another CA, a certificate of the right
 * CA for another cluster id — is refused, and the same call with the cluster's certificate is
 * served. Three nodes (raft, admin, metrics, and NBD over TCP on n1) and a controller (metrics).
 * Then the outsiders' mutating calls (the admin API's DeleteVolume, a catalog entry naming a new
 * node) change nothing: the volume is there, every replica's data file has the same SHA-256, the
 * catalog has no such node.
 */
class PortWalkIT {
    private static final String VOLUME = "walk";
    private ReplicatedCluster cluster;
    private BallastNodeProcess controller;

    @AfterEach
    void stop() {
        if (controller != null) {
            controller.close();
        }
        if (cluster != null) {
            cluster.close();
        }
    }

    @Test
    void everyPortRefusesEveryOutsiderAndServesTheCluster() throws Exception {
        Path dir = TestDirs.fresh("port-walk");
        Path certs = dir.resolve("certs");
        Path ca = certs.resolve("ca");
        certs(dir, "ca", "--out", ca.toString(), "--cluster-id", ReplicatedCluster.CLUSTER_ID);
        cluster = new ReplicatedCluster(dir, 3, 3);
        for (int i = 0; i < 3; i++) {
            String id = ReplicatedCluster.nodeId(i);
            certs(dir, "issue", "--ca", ca.toString(), "--name", id, "--ip", "127.0.0.1", "--out", certs.resolve(id).toString());
            cluster.node(i).args("--tls-dir", certs.resolve(id).toString());
        }
        int nbdPort = FreePorts.next();
        cluster.node(0).args("--nbd-listen", "127.0.0.1:" + nbdPort);
        certs(dir, "issue", "--ca", ca.toString(), "--name", "controller", "--out", certs.resolve("controller").toString());
        certs(dir, "issue", "--ca", ca.toString(), "--name", "cli", "--out", certs.resolve("cli").toString());
        Map<Caller, TlsProbe> callers = TlsProbe.callers(dir, certs.resolve("cli"), ca, ReplicatedCluster.CLUSTER_ID);
        cluster.clientTls(certs.resolve("cli")).start();
        int controllerMetrics = FreePorts.next();
        controller = BallastNodeProcess.controller("controller", dir.resolve("controller"), List.of("--cluster-id",
                ReplicatedCluster.CLUSTER_ID, "--catalog", cluster.catalogArg(3), "--csi-endpoint",
                "unix://" + dir.resolve("controller").resolve("csi.sock"), "--tls-dir", certs.resolve("controller").toString(),
                "--metrics-listen", "127.0.0.1:" + controllerMetrics)).start();

        List<String> create = new ArrayList<>(List.of("volume", "create", "--admin", cluster.admin(0), "--name", VOLUME, "--size", "32M"));
        create.addAll(cluster.replicaArgs());
        BallastNodeProcess.cliWith(certs.resolve("cli"), create.toArray(String[]::new)).assertSuccess();
        String uri = BallastNodeProcess.cliWith(certs.resolve("cli"), "volume", "attach", "--admin", cluster.admin(0), "--name", VOLUME)
                .assertSuccess().stdout().strip();
        ExternalTool.run(120, "qemu-io", "-f", "raw", uri, "-c", "write -P 0x6b 0 4M", "-c", "flush").assertSuccess();
        cluster.awaitConverged(VOLUME, 60);
        Map<String, String> before = replicaDigests();

        // Every listening TCP port of every process, each named by what the test started it as.
        Map<Integer, ListeningPorts.Kind> known = new LinkedHashMap<>();
        for (int i = 0; i < 3; i++) {
            known.put(port(cluster.raftAddress(i)), ListeningPorts.Kind.GRPC);
            known.put(port(cluster.admin(i)), ListeningPorts.Kind.GRPC);
            known.put(port(cluster.metricsUrl(i).replace("http://", "").replace("/metrics", "")), ListeningPorts.Kind.HTTP);
        }
        known.put(nbdPort, ListeningPorts.Kind.NBD);
        known.put(controllerMetrics, ListeningPorts.Kind.HTTP);
        List<BallastNodeProcess> processes = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            processes.add(cluster.node(i));
        }
        processes.add(controller);
        int walked = 0;
        List<String> failures = new ArrayList<>();
        for (BallastNodeProcess p : processes) {
            List<Integer> ports = ListeningPorts.of(p.pid());
            assertFalse(ports.isEmpty(), p.name() + " listens on no TCP port: the walk would prove nothing");
            for (int port : ports) {
                ListeningPorts.Kind kind = known.get(port);
                if (kind == null) {
                    fail(p.name() + " listens on TCP port " + port + ", which this test did not start it with: "
                            + "a port nobody walks (add it here with its protocol)");
                }
                for (Map.Entry<Caller, TlsProbe> c : callers.entrySet()) {
                    TlsProbe.Outcome o = c.getValue().call("127.0.0.1", port, kind, VOLUME);
                    boolean shouldServe = c.getKey() == Caller.CLUSTER;
                    if (o.served() != shouldServe) {
                        failures.add(p.name() + " port " + port + " (" + kind + ") with " + c.getKey() + ": "
                                + (o.served() ? "served" : "refused") + " (" + o.detail() + ")");
                    }
                }
                walked++;
            }
        }
        assertTrue(failures.isEmpty(), String.join("\n", failures));
        assertEquals(known.size(), walked, "every port the processes were given is listening and was walked");

        // The outsiders' mutating calls: on the admin API (delete the volume) and on the catalog's Raft
        // group (a heartbeat registering a node of their own). Every one fails; nothing changes.
        for (Caller c : Caller.values()) {
            if (c == Caller.CLUSTER) {
                continue;
            }
            ManagedChannel ch = callers.get(c).grpcChannel(cluster.admin(0));
            try {
                StatusRuntimeException e = assertThrows(StatusRuntimeException.class, () -> NodeAdminGrpc.newBlockingStub(ch)
                        .withDeadlineAfter(20, TimeUnit.SECONDS).deleteVolume(DeleteVolumeRequest.newBuilder().setName(VOLUME).build()),
                        "the admin API deleted a volume for " + c);
                assertEquals(io.grpc.Status.Code.UNAVAILABLE, e.getStatus().getCode(), c + ": " + e);
            } finally {
                ch.shutdownNow();
            }
            RaftTls raft = callers.get(c).raftTls();
            if (raft == null) {
                continue; // Ratis's client always presents a certificate with TLS; the walk above covered this caller.
            }
            try (CatalogClient catalog = new CatalogClient(ReplicatedCluster.CLUSTER_ID, catalogMembers(), Duration.ofSeconds(3), raft)) {
                CatalogCommand intrude = CatalogCommand.newBuilder().setHeartbeat(CatalogNode.newBuilder().setNodeId("intruder")
                        .setAdminAddress("127.0.0.1:1").setRaftAddress("127.0.0.1:2").setCapacityBytes(1L << 40)
                        .setFreeBytes(1L << 40).setHeartbeatMillis(System.currentTimeMillis())).build();
                assertThrows(BallastException.class, () -> catalog.submit(intrude), "the catalog took an entry from " + c);
            }
        }
        ManagedChannel ours = GrpcTls.channel(cluster.admin(0), TlsMaterial.of(TlsDir.of(certs.resolve("cli")), null));
        try {
            assertTrue(NodeAdminGrpc.newBlockingStub(ours).withDeadlineAfter(20, TimeUnit.SECONDS)
                    .listVolumes(ListVolumesRequest.getDefaultInstance()).getVolumesList().stream()
                    .anyMatch(v -> v.getName().equals(VOLUME)), "the volume is still there");
        } finally {
            ours.shutdownNow();
        }
        try (CatalogClient catalog = new CatalogClient(ReplicatedCluster.CLUSTER_ID, catalogMembers(), Duration.ofSeconds(20),
                callers.get(Caller.CLUSTER).raftTls())) {
            var nodes = catalog.read().getNodesList().stream().map(CatalogNode::getNodeId).toList();
            assertFalse(nodes.contains("intruder"), "an outsider's heartbeat reached the catalog: " + nodes);
            assertEquals(3, nodes.size(), nodes.toString());
        }
        cluster.awaitConverged(VOLUME, 60);
        assertEquals(before, replicaDigests(), "a replica's data changed during the walk");
        for (BallastNodeProcess p : processes) {
            assertFalse(p.logText().contains("PLAINTEXT"), p.name() + " warned of plaintext");
        }
    }

    /**
     * Rotation: three TLS nodes read their certificates from directories laid out as Kubernetes
     * mounts a Secret (files that are symlinks through {@code ..data}, swapped in one rename). New
     * certificates replace every node's while fio writes and verifies; each node then presents its
     * new certificate on the admin and raft ports without a restart, a node killed and restarted
     * rejoins over new connections, and fio ends without an error.
     */
    @Test
    void certificatesReplacedUnderWritesServeNewConnections() throws Exception {
        ExternalTool.require("fio", "fio");
        Path dir = TestDirs.fresh("cert-rotation");
        Path certs = dir.resolve("certs");
        ClusterCa ca = ClusterCa.create(certs.resolve("ca"), ReplicatedCluster.CLUSTER_ID, Duration.ofDays(1));
        cluster = new ReplicatedCluster(dir, 3, 3);
        for (int i = 0; i < 3; i++) {
            String id = ReplicatedCluster.nodeId(i);
            ca.issue(id, List.of("127.0.0.1"), List.of(), Duration.ofDays(1), certs.resolve(id).resolve("..v1"));
            publishSecret(certs.resolve(id), "..v1");
            cluster.node(i).args("--tls-dir", certs.resolve(id).toString());
        }
        Path cli = ca.issue("cli", List.of(), List.of(), Duration.ofDays(1), certs.resolve("cli")).dir();
        TlsProbe ours = TlsProbe.callers(dir, cli, certs.resolve("ca"), ReplicatedCluster.CLUSTER_ID).get(Caller.CLUSTER);
        cluster.clientTls(cli).start();
        List<String> create = new ArrayList<>(List.of("volume", "create", "--admin", cluster.admin(0), "--name", "rot", "--size", "64M"));
        create.addAll(cluster.replicaArgs());
        BallastNodeProcess.cliWith(cli, create.toArray(String[]::new)).assertSuccess();
        String uri = BallastNodeProcess.cliWith(cli, "volume", "attach", "--admin", cluster.admin(0), "--name", "rot").assertSuccess().stdout().strip();
        Map<String, java.math.BigInteger> old = new LinkedHashMap<>();
        for (int i = 0; i < 3; i++) {
            old.put(cluster.admin(i), ours.servedCertificate("127.0.0.1", port(cluster.admin(i))).getSerialNumber());
        }

        // About 40 s of paced writes, verified at the end; the rotation and a restart happen meanwhile.
        var fio = java.util.concurrent.CompletableFuture.supplyAsync(() -> ExternalTool.run(300, "fio", "--name=rotation",
                "--ioengine=nbd", "--uri=" + uri, "--rw=randwrite", "--bs=64k", "--size=40m", "--rate=1m", "--iodepth=4",
                "--verify=crc32c", "--verify_fatal=1"));
        cluster.awaitCommits("rot", 0, 20, 30, "fio is writing");
        Map<String, java.math.BigInteger> fresh = new LinkedHashMap<>();
        for (int i = 0; i < 3; i++) {
            String id = ReplicatedCluster.nodeId(i);
            TlsDir v2 = ca.issue(id, List.of("127.0.0.1"), List.of(), Duration.ofDays(1), certs.resolve(id).resolve("..v2"));
            publishSecret(certs.resolve(id), "..v2");
            fresh.put(cluster.admin(i), serial(v2.cert()));
            fresh.put(cluster.raftAddress(i), serial(v2.cert()));
        }
        // A process looks for changed files at most every 10 s, on a handshake: new connections find the new certificate.
        for (Map.Entry<String, java.math.BigInteger> e : fresh.entrySet()) {
            io.ballast.replication.testing.Await.await(() -> ours.servedCertificate("127.0.0.1", port(e.getKey())).getSerialNumber()
                    .equals(e.getValue()), 40, e.getKey() + " presents its new certificate");
            assertFalse(e.getValue().equals(old.get(e.getKey())), "a new certificate has a new serial");
        }
        // New Raft connections both ways: n3 restarts and catches up under the writes.
        cluster.node(2).kill9();
        cluster.node(2).start();
        cluster.awaitCommits("rot", 2, 20, 60, "n3 is back in the group over new connections");
        ExternalTool.Result written = fio.get(300, TimeUnit.SECONDS);
        written.assertSuccess();
        assertTrue(written.stdout().contains("err= 0"), written.stdout());
        cluster.awaitConverged("rot", 60);
        assertTrue(BallastNodeProcess.cliWith(cli, "status", "--cluster", cluster.admin(1)).assertSuccess().stdout().contains("3 nodes (3 up)"));
        for (int i = 0; i < 3; i++) {
            String log = cluster.node(i).logText();
            assertTrue(log.contains("TLS certificates in") && log.contains("changed"), "node " + i + " logs the rotation");
            assertFalse(log.contains("cannot be loaded"), "node " + i + " read a half-written certificate");
        }
        cluster.assertReplicasIdentical("rot");
    }

    /**
     * Makes {@code secret} look as Kubernetes mounts a Secret: {@code tls.crt}, {@code tls.key}
     * and {@code ca.crt} are symlinks to {@code ..data/NAME}, and {@code ..data} a symlink to
     * {@code version}, replaced by one rename (so a reader never sees a key from one version and a
     * certificate from another).
     */
    private static void publishSecret(Path secret, String version) throws IOException {
        Path tmp = secret.resolve("..data_tmp");
        Files.deleteIfExists(tmp);
        Files.createSymbolicLink(tmp, Path.of(version));
        Files.move(tmp, secret.resolve("..data"), java.nio.file.StandardCopyOption.ATOMIC_MOVE,
                java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        for (String f : List.of(TlsDir.CERT, TlsDir.KEY, TlsDir.CA)) {
            Path link = secret.resolve(f);
            if (!Files.exists(link, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
                Files.createSymbolicLink(link, Path.of("..data").resolve(f));
            }
        }
    }

    private static java.math.BigInteger serial(Path pem) throws Exception {
        try (var in = Files.newInputStream(pem)) {
            return ((java.security.cert.X509Certificate) java.security.cert.CertificateFactory.getInstance("X.509")
                    .generateCertificate(in)).getSerialNumber();
        }
    }

    private Map<String, String> catalogMembers() {
        Map<String, String> members = new LinkedHashMap<>();
        for (int i = 0; i < 3; i++) {
            members.put(ReplicatedCluster.nodeId(i), cluster.raftAddress(i));
        }
        return members;
    }

    /** SHA-256 of each node's replica of the volume (its data file). */
    private Map<String, String> replicaDigests() throws IOException, java.security.NoSuchAlgorithmException {
        Map<String, String> digests = new TreeMap<>();
        for (int i = 0; i < 3; i++) {
            Path data = cluster.node(i).dataDir().resolve("volumes").resolve(VOLUME).resolve("data");
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            try (var in = Files.newInputStream(data)) {
                byte[] buf = new byte[1 << 20];
                for (int n = in.read(buf); n > 0; n = in.read(buf)) {
                    md.update(buf, 0, n);
                }
            }
            digests.put(ReplicatedCluster.nodeId(i), HexFormat.of().formatHex(md.digest()));
        }
        return digests;
    }

    private static int port(String hostPort) {
        return Integer.parseInt(hostPort.substring(hostPort.lastIndexOf(':') + 1));
    }

    private static void certs(Path dir, String... args) {
        List<String> cmd = new ArrayList<>(List.of("certs"));
        cmd.addAll(List.of(args));
        ExternalTool.run(60, BallastNodeProcess.command(cmd.toArray(String[]::new))).assertSuccess();
    }

}
