package io.ballast.tests;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.ballast.tests.harness.BallastNodeProcess;
import io.ballast.tests.harness.ExternalTool;
import io.ballast.tests.harness.LogTail;
import io.ballast.tests.harness.TestDirs;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The README's first command, {@code ballast dev up}: a 3-node cluster with the CSI controller
 * and a replicated volume, mounted as ext4 through the CSI Node service (as root), or served over
 * NBD ({@code --no-mount}); stopped with SIGTERM and started again, it brings back the same volume
 * with its data.
 */
class DevUpIT {

    @Test
    void devUpServesAReplicatedVolumeThatSurvivesARestart() throws Exception {
        ExternalTool.require("nbdcopy", "libnbd-bin");
        Path dir = TestDirs.fresh("dev-up").resolve("cluster");
        int base = freeBase();
        Path data = dir.resolveSibling("data.bin");
        byte[] bytes = new byte[3 << 20];
        new Random(7).nextBytes(bytes);
        Files.write(data, bytes);

        Process first = start(dir, base, "first", "--no-mount");
        String uri = Files.readString(dir.resolve("vol1.uri")).trim();
        assertTrue(uri.startsWith("nbd+unix:///vol1-") && uri.contains(dir.resolve("n1.sock").toString()), uri);
        ExternalTool.Result info = ExternalTool.run(60, List.of("nbdinfo", "--size", uri)).assertSuccess();
        assertEquals(String.valueOf(1L << 30), info.stdout().trim());
        ExternalTool.run(60, List.of("nbdcopy", "--flush", data.toString(), uri)).assertSuccess();
        stop(first);

        Process second = start(dir, base, "second", "--no-mount");
        assertEquals(uri, Files.readString(dir.resolve("vol1.uri")).trim(), "the same volume comes back");
        Path back = dir.resolveSibling("back.bin");
        ExternalTool.run(60, List.of("sh", "-c", "nbdcopy '" + uri + "' - | head -c " + bytes.length + " > " + back)).assertSuccess();
        assertArrayEquals(bytes, Files.readAllBytes(back));
        stop(second);
    }

    @Test
    void devUpMountsTheVolumeAsExt4AndUnmountsOnStop() throws Exception {
        io.ballast.tests.harness.Privileged.requireFuseAndLoop();
        Path dir = TestDirs.fresh("dev-mount").resolve("cluster");
        int base = freeBase();
        Process p = start(dir, base, "mounted");
        Path mnt = dir.resolve("mnt").resolve("vol1");
        assertTrue(ExternalTool.run(30, List.of("findmnt", "-n", "-o", "FSTYPE", mnt.toString())).assertSuccess()
                .stdout().contains("ext4"));
        assertTrue(Files.readString(mnt.resolve("hello-from-ballast.txt")).contains("replicated"));
        byte[] bytes = new byte[2 << 20];
        new Random(9).nextBytes(bytes);
        Files.write(mnt.resolve("data.bin"), bytes);
        stop(p);
        assertTrue(ExternalTool.run(30, List.of("findmnt", mnt.toString())).exitCode() != 0, "unmounted on stop");
        Process again = start(dir, base, "remounted");
        assertArrayEquals(bytes, Files.readAllBytes(mnt.resolve("data.bin")));
        try {
            // A crash (kill -9) leaves the mount to the descriptor keeper; the next dev up resumes it.
            Files.writeString(mnt.resolve("before-crash.txt"), "written before kill -9\n");
            ExternalTool.run(30, List.of("sync")).assertSuccess();
            again.destroyForcibly().waitFor();
            assertEquals(0, ExternalTool.run(30, List.of("findmnt", mnt.toString())).exitCode(), "the mount outlives the crash");
            Process afterCrash = start(dir, base, "after-crash");
            assertArrayEquals(bytes, Files.readAllBytes(mnt.resolve("data.bin")));
            assertEquals("written before kill -9\n", Files.readString(mnt.resolve("before-crash.txt")));
            Files.writeString(mnt.resolve("after-crash.txt"), "the volume takes writes again\n");
            stop(afterCrash);
            assertTrue(ExternalTool.run(30, List.of("findmnt", mnt.toString())).exitCode() != 0, "unmounted on stop");
        } finally {
            // Whatever failed above, leave no mount waiting for a node that will not come back.
            ExternalTool.run(30, List.of("umount", "-l", mnt.toString()));
            Path keeperPid = dir.resolve("n1").resolve("run").resolve("fd-keeper.sock.pid");
            if (Files.exists(keeperPid)) {
                ProcessHandle.of(Long.parseLong(Files.readString(keeperPid).strip())).ifPresent(ProcessHandle::destroyForcibly);
            }
        }
    }

    static Process start(Path dir, int base, String name, String... extra) throws Exception {
        Path out = dir.resolveSibling(name + ".out");
        List<String> cmd = new ArrayList<>(BallastNodeProcess.command("dev", "up", "--dir", dir.toString(),
                "--base-port", String.valueOf(base)));
        cmd.addAll(List.of(extra));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(out.toFile()).start();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        while (System.nanoTime() < deadline) {
            String text = Files.exists(out) ? Files.readString(out, StandardCharsets.UTF_8) : "";
            if (text.contains("Ctrl-C")) {
                assertTrue(text.contains("volume vol1") && text.contains("3 replicas"), text);
                if (!List.of(extra).contains("--no-mount")) {
                    assertTrue(text.contains("mounted as ext4"), text);
                }
                return p;
            }
            if (!p.isAlive()) {
                // Read again: the text above may predate the last lines the process wrote before it exited.
                fail("ballast dev up exited with " + p.exitValue() + ":\n" + Files.readString(out, StandardCharsets.UTF_8)
                        + "\nlast lines of its log:\n" + LogTail.of(dir.resolve("ballast.log"), 40));
            }
            Thread.sleep(200);
        }
        p.destroyForcibly();
        fail("ballast dev up not ready in 120 s:\n" + Files.readString(out));
        return p;
    }

    static void stop(Process p) throws InterruptedException {
        p.destroy(); // SIGTERM: the shutdown hook closes nodes and controller cleanly
        if (!p.waitFor(60, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            fail("ballast dev up did not stop within 60 s of SIGTERM");
        }
    }

    /**
     * A base port whose ports (base+11..13 raft, base+21..23 admin, base+30..33 metrics) can be bound
     * right now, below the kernel's ephemeral range: dev up binds them seconds after this check, and
     * meanwhile any outgoing connection of the suite could be given one of them from that range.
     */
    static int freeBase() throws Exception {
        Random r = new Random();
        // With several test JVMs (ballast.fork, see FreePorts), each picks from a band of its own.
        Integer fork = Integer.getInteger("ballast.fork");
        boolean banded = fork != null && fork >= 1 && fork <= 2;
        int below = Math.max(firstEphemeralPort(), 22000) - 40;
        for (int attempt = 0; attempt < 100; attempt++) {
            int base = banded ? 22000 + (fork - 1) * 5000 + r.nextInt(4900) : 20000 + r.nextInt(below - 20000);
            if (bindable(base + 11, base + 12, base + 13, base + 21, base + 22, base + 23, base + 30, base + 31, base + 32,
                    base + 33)) {
                return base;
            }
        }
        throw new AssertionError("no free range of ports found");
    }

    /** The low end of the kernel's ephemeral port range (32768 unless configured otherwise). */
    private static int firstEphemeralPort() {
        try {
            return Integer.parseInt(Files.readString(Path.of("/proc/sys/net/ipv4/ip_local_port_range")).strip().split("\\s+")[0]);
        } catch (java.io.IOException | RuntimeException e) {
            return 32768;
        }
    }

    private static boolean bindable(int... ports) {
        for (int port : ports) {
            try (ServerSocket s = new ServerSocket(port, 1, java.net.InetAddress.getLoopbackAddress())) {
                s.setReuseAddress(true);
            } catch (java.io.IOException e) {
                return false;
            }
        }
        return true;
    }
}
