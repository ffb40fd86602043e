package io.ballast.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ballast.engine.error.BallastException;
import io.ballast.replication.catalog.CatalogClient;
import io.ballast.replication.tls.RaftTls;
import io.ballast.replication.tls.TlsDir;
import io.ballast.replication.testing.FreePorts;
import io.ballast.replication.tls.TlsMaterial;
import io.ballast.tests.harness.BallastNodeProcess;
import io.ballast.tests.harness.ExternalTool;
import io.ballast.tests.harness.ReplicatedCluster;
import io.ballast.tests.harness.TestDirs;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Mutual TLS with real processes (issue 18): certificates made by {@code ballast certs}, three
 * nodes started with {@code --tls-dir}. The CLI with the cluster's certificate creates, attaches
 * and writes a volume; without a certificate, or with one of another CA, the admin API refuses it
 * and the CLI says what to set; a Raft client reaches the catalog only with a certificate of the
 * cluster's CA. NBD over TCP (node 1's {@code --nbd-listen}) requires NBD's own TLS: nbdinfo
 * (libnbd) and qemu-io (QEMU), third-party clients with TLS, get in with a certificate of the
 * cluster's CA only, and their writes land in the volume. No node warns of plaintext.
 */
class TlsIT {
    private ReplicatedCluster cluster;

    @AfterEach
    void stop() {
        if (cluster != null) {
            cluster.close();
        }
    }

    @Test
    void onlyHoldersOfTheClustersCertificatesGetIn() {
        ExternalTool.require("fio", "fio");
        ExternalTool.require("nbdinfo", "libnbd-bin");
        ExternalTool.require("qemu-io", "qemu-utils");
        Path dir = TestDirs.fresh("tls");
        Path certs = dir.resolve("certs");
        ballast(null, "certs", "ca", "--out", certs.resolve("ca").toString(), "--cluster-id", ReplicatedCluster.CLUSTER_ID)
                .assertSuccess();
        cluster = new ReplicatedCluster(dir, 3, 3);
        for (int i = 0; i < 3; i++) {
            String id = ReplicatedCluster.nodeId(i);
            ballast(null, "certs", "issue", "--ca", certs.resolve("ca").toString(), "--name", id, "--ip", "127.0.0.1",
                    "--out", certs.resolve(id).toString()).assertSuccess();
            cluster.node(i).args("--tls-dir", certs.resolve(id).toString());
        }
        Path cli = certs.resolve("cli");
        ballast(null, "certs", "issue", "--ca", certs.resolve("ca").toString(), "--name", "cli", "--out", cli.toString())
                .assertSuccess();
        assertEquals("rw-------", posix(cli.resolve(TlsDir.KEY)), "a private key is its owner's alone");
        Path otherCa = dir.resolve("other-ca");
        Path other = dir.resolve("other-cli");
        ballast(null, "certs", "ca", "--out", otherCa.toString(), "--cluster-id", "elsewhere").assertSuccess();
        ballast(null, "certs", "issue", "--ca", otherCa.toString(), "--name", "cli", "--out", other.toString()).assertSuccess();
        int nbdPort = FreePorts.next();
        cluster.node(0).args("--nbd-listen", "127.0.0.1:" + nbdPort);
        cluster.start();

        // The cluster's own CLI certificate: a volume created, attached and written.
        List<String> create = new ArrayList<>(List.of("volume", "create", "--admin", cluster.admin(0), "--name", "sec", "--size", "64M"));
        create.addAll(cluster.replicaArgs());
        ballast(cli, create.toArray(String[]::new)).assertSuccess();
        String uri = ballast(cli, "volume", "attach", "--admin", cluster.admin(0), "--name", "sec").assertSuccess().stdout().strip();
        ExternalTool.Result fio = ExternalTool.run(300, "fio", "--name=tls", "--ioengine=nbd", "--uri=" + uri, "--rw=randwrite",
                "--bs=64k", "--size=16m", "--iodepth=8", "--verify=crc32c", "--verify_fatal=1");
        fio.assertSuccess();
        assertTrue(fio.stdout().contains("err= 0"), fio.stdout());
        String status = ballast(cli, "status", "--cluster", cluster.admin(1)).assertSuccess().stdout();
        assertTrue(status.contains("3 nodes (3 up)"), status);

        // No certificate, or another CA's: refused, and the CLI says what to set.
        for (Path who : new Path[] {null, other}) {
            ExternalTool.Result refused = ballast(who, "status", "--cluster", cluster.admin(0));
            assertNotEquals(0, refused.exitCode(), refused.describe());
            assertTrue(refused.stderr().contains(cluster.admin(0)) && refused.stderr().contains("BALLAST_TLS_DIR"), refused.describe());
            ExternalTool.Result detach = ballast(who, "volume", "detach", "--admin", cluster.admin(0), "--name", "sec");
            assertNotEquals(0, detach.exitCode(), "a caller without the cluster's certificate detached a volume: " + detach.describe());
        }

        // NBD over TCP: TLS with the cluster's certificate, or nothing.
        String tcp = "127.0.0.1:" + nbdPort + "/sec";
        ExternalTool.Result plain = ExternalTool.run(60, "nbdinfo", "--size", "nbd://" + tcp);
        assertNotEquals(0, plain.exitCode(), "plaintext NBD over TCP was served: " + plain.describe());
        assertTrue(plain.stderr().contains("TLS"), "the refusal says TLS is required: " + plain.describe());
        // Another CA's certificates: the client does not trust the node (nor would the node trust it).
        ExternalTool.Result foreign = ExternalTool.run(60, "nbdinfo", "--size", "nbds://" + tcp + "?tls-certificates="
                + gnutlsDir(other, dir.resolve("gnutls-other"), true));
        assertNotEquals(0, foreign.exitCode(), foreign.describe());
        assertTrue(foreign.stderr().contains("certificate verification"), foreign.describe());
        // The cluster's CA trusted but no client certificate: the node ends the handshake.
        ExternalTool.Result noCert = ExternalTool.run(60, "nbdinfo", "--size", "nbds://" + tcp + "?tls-certificates="
                + gnutlsDir(cli, dir.resolve("gnutls-nocert"), false));
        assertNotEquals(0, noCert.exitCode(), noCert.describe());
        assertTrue(noCert.stderr().contains("TLS fatal alert"), noCert.describe());
        Path gnutls = gnutlsDir(cli, dir.resolve("gnutls-cli"), true);
        ExternalTool.Result size = ExternalTool.run(60, "nbdinfo", "--size", "nbds://" + tcp + "?tls-certificates=" + gnutls);
        assertEquals(String.valueOf(64L << 20), size.assertSuccess().stdout().strip(), "nbdinfo over TLS");
        String image = "driver=nbd,server.type=inet,server.host=127.0.0.1,server.port=" + nbdPort + ",export=sec,tls-creds=tls0";
        String creds = "tls-creds-x509,id=tls0,endpoint=client,dir=" + gnutls;
        ExternalTool.run(120, "qemu-io", "--object", creds, "--image-opts", image, "-c", "write -P 0x5a 32M 1M",
                "-c", "read -P 0x5a 32M 1M").assertSuccess();
        ExternalTool.Result local = ExternalTool.run(120, "qemu-io", "-r", "-f", "raw", uri, "-c", "read -P 0x5a 32M 1M");
        assertTrue(local.assertSuccess().stdout().contains("read 1048576/1048576"), "qemu-io's TLS write is in the volume: "
                + local.describe());
        assertTrue(cluster.node(0).logText().contains("is TLS (TLS"), "node 1 logs its TLS NBD connections");

        // Raft: the catalog answers a client with a certificate of the cluster's CA only.
        Map<String, String> members = new LinkedHashMap<>();
        for (int i = 0; i < 3; i++) {
            members.put(ReplicatedCluster.nodeId(i), cluster.raftAddress(i));
        }
        for (RaftTls outsider : List.of(RaftTls.PLAINTEXT, RaftTls.of(TlsMaterial.of(TlsDir.of(other), null)))) {
            try (CatalogClient c = new CatalogClient(ReplicatedCluster.CLUSTER_ID, members, Duration.ofSeconds(2), outsider)) {
                assertThrows(BallastException.class, c::read, "the catalog answered a client with " + outsider);
            }
        }
        try (CatalogClient c = new CatalogClient(ReplicatedCluster.CLUSTER_ID, members, Duration.ofSeconds(20), RaftTls.of(TlsMaterial.of(TlsDir.of(cli), null)))) {
            assertEquals(3, c.read().getNodesCount(), "the catalog, read with the cluster's certificate");
        }
        for (int i = 0; i < 3; i++) {
            assertFalse(cluster.node(i).logText().contains("PLAINTEXT"), "node " + i + " warned of plaintext");
        }
    }

    /**
     * A certificate directory as GnuTLS clients (libnbd, QEMU) read it: {@code ca-cert.pem}, and
     * with {@code clientCert} {@code client-cert.pem} and {@code client-key.pem}, from a
     * {@code ballast certs} directory (the cert-manager layout).
     */
    private static Path gnutlsDir(Path from, Path to, boolean clientCert) {
        try {
            Files.createDirectories(to);
            Files.copy(from.resolve(TlsDir.CA), to.resolve("ca-cert.pem"));
            if (clientCert) {
                Files.copy(from.resolve(TlsDir.CERT), to.resolve("client-cert.pem"));
                Files.copy(from.resolve(TlsDir.KEY), to.resolve("client-key.pem"));
            }
            return to;
        } catch (java.io.IOException e) {
            throw new AssertionError(e);
        }
    }

    /** {@code ballast ARGS} with $BALLAST_TLS_DIR set to {@code tls} (null: unset). */
    private static ExternalTool.Result ballast(Path tls, String... args) {
        List<String> cmd = new ArrayList<>(List.of("env", "-u", "BALLAST_TLS_DIR"));
        if (tls != null) {
            cmd.add("BALLAST_TLS_DIR=" + tls);
        }
        cmd.addAll(BallastNodeProcess.command(args));
        return ExternalTool.run(120, cmd);
    }

    private static String posix(Path f) {
        try {
            return java.nio.file.attribute.PosixFilePermissions.toString(Files.getPosixFilePermissions(f));
        } catch (java.io.IOException e) {
            throw new AssertionError(e);
        }
    }
}
