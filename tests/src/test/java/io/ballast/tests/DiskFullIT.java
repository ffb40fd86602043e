package io.ballast.tests;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.ballast.tests.harness.ExternalTool;
import io.ballast.tests.harness.Privileged;
import io.ballast.tests.harness.ReplicatedCluster;
import io.ballast.tests.harness.TestDirs;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A full disk is an error that heals, never a loss and never a restart (issue 14). n3 keeps its
 * replicas' stores on a small filesystem of its own (an ext4 image loop-mounted at its
 * {@code volumes/}) that another program's file has nearly filled. fio writes 160 MiB with crc32c
 * through n1: n3 runs out of space applying, pauses (its condition says so) while n1 and n2 carry
 * the volume; fio sees no error. The other program's file is deleted: n3 resumes by itself, catches
 * up to the leader's commit index, and, attached there, serves every block fio wrote, verified.
 */
class DiskFullIT {
    private static final String VOLUME = "full";
    private ReplicatedCluster cluster;
    private Path mount;

    @AfterEach
    void stop() {
        if (cluster != null) {
            cluster.close();
        }
        if (mount != null) {
            ExternalTool.run(30, "umount", "-l", mount.toString());
        }
    }

    /** Large writes: their data goes to the entry journal, which waits for space. */
    @Test
    @Timeout(value = 300, unit = TimeUnit.SECONDS)
    void aReplicaWhoseRaftJournalDiskFillsComesBackWhenSpaceReturns() throws Exception {
        fillAndFree("raft", "256k", false);
    }

    /**
     * Small writes: they stay in Ratis's log, whose worker fails for good on ENOSPC; the node's
     * StuckLogWatchdog restarts the division once space is back.
     */
    @Test
    @Timeout(value = 300, unit = TimeUnit.SECONDS)
    void aReplicaWhoseRaftLogDiskFillsComesBackWhenSpaceReturns() throws Exception {
        fillAndFree("raft", "32k", false);
    }

    @Test
    @Timeout(value = 300, unit = TimeUnit.SECONDS)
    void aReplicaOnAFullDiskPausesAndCatchesUpWhenSpaceReturns() throws Exception {
        fillAndFree("volumes", "256k", true);
    }

    /**
     * n3's {@code sub} directory ({@code volumes}: the stores; {@code raft}: the Raft log, entry
     * journal and checkpoints) on a small filesystem that fills while fio writes through n1.
     */
    private void fillAndFree(String sub, String blockSize, boolean pausesApplying) throws Exception {
        Privileged.requireFuseAndLoop();
        ExternalTool.require("fio", "fio");
        ExternalTool.require("mkfs.ext4", "e2fsprogs");
        Path dir = TestDirs.fresh("disk-full");
        cluster = new ReplicatedCluster(dir, 3);
        // n3's stores live on a 256 MiB filesystem of their own, 200 MiB of it taken by someone else.
        Path image = dir.resolve("n3-" + sub + ".img");
        ExternalTool.run(30, "truncate", "-s", "256M", image.toString()).assertSuccess();
        ExternalTool.run(60, "mkfs.ext4", "-q", "-m", "0", image.toString()).assertSuccess();
        cluster.start();
        cluster.node(2).stopCleanly(); // formatted: now its stores' directory can become a mount point
        mount = dir.resolve("n3").resolve(sub);
        Files.createDirectories(mount);
        ExternalTool.run(30, "mount", "-o", "loop", image.toString(), mount.toString()).assertSuccess();
        Files.delete(mount.resolve("lost+found"));
        Path filler = mount.resolve("someone-elses-file");
        ExternalTool.run(60, "fallocate", "-l", "200M", filler.toString()).assertSuccess();
        cluster.node(2).start();

        List<String> create = new ArrayList<>(List.of("--name", VOLUME, "--size", "192M"));
        create.addAll(cluster.replicaArgs(0, 1, 2));
        cluster.cli(0, "create", create.toArray(String[]::new)).assertSuccess();
        String uri = cluster.cli(0, "attach", "--name", VOLUME).assertSuccess().stdout().trim();

        List<String> job = List.of("fio", "--name=fill", "--ioengine=nbd", "--uri=" + uri, "--rw=write", "--bs=" + blockSize,
                "--iodepth=4", "--size=160m", "--verify=crc32c", "--do_verify=0", "--randseed=7", "--end_fsync=1");
        ExternalTool.Result write = ExternalTool.run(240, job);
        write.assertSuccess();
        System.out.println("disk full: fio wrote 160 MiB through n1 while n3's disk was full");

        if (pausesApplying) {
            String paused = awaitStatus(2, s -> s.contains("disk full"), 60, "n3 reports its full disk");
            System.out.println("n3 while full:\n" + paused);
        } else {
            String stuck = awaitStatus(2, s -> s.contains("disk full"), 90, "n3 reports its full disk");
            System.out.println("n3 while its Raft log's disk is full:\n" + stuck);
        }
        long commit = commitIndex(cluster.cli(0, "status", VOLUME).assertSuccess().stdout());

        Files.delete(filler);
        String caughtUp = awaitStatus(2, s -> appliedIndex(s) >= commit && !s.contains("disk full")
                && !s.contains("Raft log stuck"), 120,
                "n3 applies up to the commit index " + commit + " once space is back");
        System.out.println("n3 after space returned:\n" + caughtUp);
        if (pausesApplying) {
            assertTrue(Files.readString(cluster.node(2).log()).contains("space is back"), "n3 says it resumed");
        }

        // n3's own copy holds what fio wrote: attached there, reads are served from its replica.
        String n3uri = cluster.cli(2, "attach", "--name", VOLUME).assertSuccess().stdout().trim();
        List<String> verify = new ArrayList<>(job);
        verify.set(3, "--uri=" + n3uri);
        verify.add("--verify_only");
        ExternalTool.Result check = ExternalTool.run(240, verify);
        check.assertSuccess();
        assertTrue(check.stdout().contains("err= 0"), check.stdout());
    }

    private String awaitStatus(int node, java.util.function.Predicate<String> ok, int seconds, String what)
            throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        String last = "";
        while (System.nanoTime() < deadline) {
            ExternalTool.Result r = cluster.cli(node, "status", VOLUME);
            last = r.stdout() + r.stderr();
            if (r.exitCode() == 0 && ok.test(r.stdout())) {
                return r.stdout();
            }
            Thread.sleep(500);
        }
        fail(what + " did not happen within " + seconds + " s; last status:\n" + last);
        return last;
    }

    private static long commitIndex(String status) {
        return number(status, "commit=(-?\\d+)");
    }

    private static long appliedIndex(String status) {
        return number(status, "applied=(-?\\d+)");
    }

    private static long number(String status, String regex) {
        Matcher m = Pattern.compile(regex).matcher(status);
        if (!m.find()) {
            throw new AssertionError("no " + regex + " in:\n" + status);
        }
        return Long.parseLong(m.group(1));
    }
}
