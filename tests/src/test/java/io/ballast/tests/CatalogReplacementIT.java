package io.ballast.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.ballast.tests.harness.BallastNodeProcess;
import io.ballast.tests.harness.ExternalTool;
import io.ballast.tests.harness.ReplicatedCluster;
import io.ballast.tests.harness.TestDirs;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The catalog heals after losing a member (issue 13: "survives the loss and replacement of a
 * catalog node"): four node processes find the catalog's members from a source they re-read
 * ({@code --catalog-from=file:}, the same path as {@code --catalog-from=kubernetes} without an API
 * server); n3, a member, is killed for good and the source names n4 instead. The catalog's leader
 * adds n4 and removes n3, after which a second original member can be lost and the catalog still
 * answers: with the old members {n1, n2, n3}, losing n1 and n3 would leave it without a quorum.
 */
class CatalogReplacementIT {
    private ReplicatedCluster cluster;

    @AfterEach
    void stop() {
        if (cluster != null) {
            cluster.close();
        }
    }

    @Test
    @Timeout(value = 240, unit = TimeUnit.SECONDS)
    void aLostMemberIsReplacedAndTheCatalogSurvivesASecondLoss() throws Exception {
        Path dir = TestDirs.fresh("catalog-replace");
        cluster = new ReplicatedCluster(dir, 4);
        Path members = dir.resolve("catalog-members");
        Files.writeString(members, "# the catalog's members\n" + cluster.replica(0) + "\n" + cluster.replica(1) + "\n"
                + cluster.replica(2) + "\n");
        for (int i = 0; i < 4; i++) {
            cluster.node(i).args("--catalog-from", "file:" + members);
        }
        cluster.jvmArgs("-Dballast.catalog.reconcileSeconds=1", "-Dballast.catalog.removeAfterSeconds=3");
        cluster.start();
        // n4 is not a member: an operator admits it (a file of members names the catalog, not who may join).
        ExternalTool.Result admitted = null;
        for (long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(60); System.nanoTime() < end; Thread.sleep(1000)) {
            admitted = ExternalTool.run(120, BallastNodeProcess.command("node", "admit", "n4", "--cluster", cluster.admin(0)));
            if (admitted.exitCode() == 0) {
                break; // the catalog has a leader
            }
        }
        assertTrue(admitted.exitCode() == 0 && admitted.stdout().contains("node n4: admitted"), admitted.describe());
        awaitStatus(3, "4 nodes (4 up)", 60);

        cluster.node(2).kill9();
        Files.writeString(members, cluster.replica(0) + "\n" + cluster.replica(1) + "\n" + cluster.replica(3) + "\n");
        String log = awaitLog("catalog: n3 removed", 90);
        assertTrue(log.contains("catalog: n4 added"), "n4 joins before n3 leaves:\n" + log);
        System.out.println("catalog replacement:\n" + log);

        cluster.node(0).kill9();
        ExternalTool.Result status = awaitStatus(3, "4 nodes (2 up)", 60);
        assertEquals(0, status.exitCode(), status.describe());
    }

    /** Polls {@code ballast status} through node i until its table contains {@code text}. */
    private ExternalTool.Result awaitStatus(int i, String text, int seconds) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        ExternalTool.Result r = null;
        while (System.nanoTime() < deadline) {
            r = ExternalTool.run(30, BallastNodeProcess.command("status", "--cluster", cluster.admin(i), "--down-after", "6s"));
            if (r.exitCode() == 0 && r.stdout().contains(text)) {
                return r;
            }
            Thread.sleep(1000);
        }
        fail("ballast status through n" + (i + 1) + " never showed '" + text + "':\n" + (r == null ? "" : r.describe()));
        return r;
    }

    /** The catalog-membership lines of every node's log, once one of them contains {@code text}. */
    private String awaitLog(String text, int seconds) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        StringBuilder lines = new StringBuilder();
        while (System.nanoTime() < deadline) {
            lines.setLength(0);
            for (int i = 0; i < cluster.size(); i++) {
                for (String line : Files.readAllLines(cluster.node(i).log())) {
                    if (line.contains("catalog: ") || line.contains("catalog membership")) {
                        lines.append(ReplicatedCluster.nodeId(i)).append(": ").append(line).append('\n');
                    }
                }
            }
            if (lines.indexOf(text) >= 0) {
                return lines.toString();
            }
            Thread.sleep(500);
        }
        fail("no node logged '" + text + "' within " + seconds + " s; catalog lines:\n" + lines);
        return null;
    }
}
