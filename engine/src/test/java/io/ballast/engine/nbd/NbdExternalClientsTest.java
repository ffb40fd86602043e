package io.ballast.engine.nbd;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.ballast.engine.volume.MemoryBlockVolume;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Interoperability with real third-party NBD clients (libnbd's nbdinfo, qemu-img, qemu-io, fio).
 * Each test is skipped, with the reason, when its binary is not installed.
 */
class NbdExternalClientsTest {
    private static final int MIB = 1 << 20;

    @TempDir
    Path dir;
    private ExecutorService pool;
    private MemoryBlockVolume disk;
    private NbdServer server;
    private Path socket;

    @BeforeEach
    void start() {
        pool = Executors.newFixedThreadPool(2);
        disk = new MemoryBlockVolume("disk", 16 * MIB, pool);
        socket = dir.resolve("nbd.sock");
        server = new NbdServer(MapNbdExports.of(disk), NbdServerConfig.unix(socket).withWorkerThreads(2));
        server.start();
    }

    @AfterEach
    void stop() {
        server.close();
        pool.shutdownNow();
    }

    private String uri() {
        return "nbd+unix:///disk?socket=" + socket;
    }

    private static void assumeInstalled(String binary) {
        assumeTrue(Files.isExecutable(Path.of("/usr/bin", binary)),
                () -> binary + " is not installed (/usr/bin/" + binary + "); skipping this interoperability test");
    }

    private static String run(String... command) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        boolean done = p.waitFor(60, TimeUnit.SECONDS);
        String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!done) {
            p.destroyForcibly();
        }
        assertTrue(done, () -> "timed out: " + String.join(" ", command) + "\n" + output);
        assertEquals(0, p.exitValue(), () -> String.join(" ", command) + " failed:\n" + output);
        return output;
    }

    @Test
    void nbdinfoSeesSizeBlockSizesAndFlags() throws Exception {
        assumeInstalled("nbdinfo");
        String json = run("nbdinfo", "--json", uri()).replaceAll("\\s", "");
        assertTrue(json.contains("\"export-size\":" + 16 * MIB), json);
        assertTrue(json.contains("\"block_size_minimum\":1"), json);
        assertTrue(json.contains("\"block_size_preferred\":4096"), json);
        assertTrue(json.contains("\"block_size_maximum\":33554432"), json);
        assertTrue(json.contains("\"can_flush\":true"), json);
        assertTrue(json.contains("\"can_fua\":true"), json);
        assertTrue(json.contains("\"can_trim\":true"), json);
        assertTrue(json.contains("\"can_zero\":true"), json);
        assertTrue(json.contains("\"can_multi_conn\":true"), json);
        assertTrue(json.contains("\"is_read_only\":false"), json);
        String list = run("nbdinfo", "--list", "--json", "nbd+unix://?socket=" + socket).replaceAll("\\s", "");
        assertTrue(list.contains("\"export-name\":\"disk\""), list);
    }

    @Test
    void qemuImgWritesAndReadsBackAnImage() throws Exception {
        assumeInstalled("qemu-img");
        Path in = dir.resolve("in.raw");
        Path out = dir.resolve("out.raw");
        byte[] image = new byte[16 * MIB];
        for (int i = 0; i < image.length; i += 4096) {
            if ((i / 4096) % 3 != 0) { // leave holes so qemu-img uses WRITE_ZEROES / skips too
                System.arraycopy(Wire.pattern(4096, i / 4096), 0, image, i, 4096);
            }
        }
        Files.write(in, image);
        run("qemu-img", "convert", "-n", "-f", "raw", "-O", "raw", in.toString(), uri());
        assertArrayEquals(image, disk.bytes(0, image.length));
        run("qemu-img", "convert", "-f", "raw", "-O", "raw", uri(), out.toString());
        assertArrayEquals(image, Files.readAllBytes(out));
    }

    @Test
    void qemuIoPatternsWithFuaFlushAndZeroes() throws Exception {
        assumeInstalled("qemu-io");
        List<String> cmd = new ArrayList<>(List.of("qemu-io", "-f", "raw"));
        for (String c : List.of("write -P 0xab 0 1M", "write -f -P 0xcd 1M 64k", "flush",
                "write -z 2M 1M", "discard 4M 1M", "read -P 0xab 0 1M", "read -P 0xcd 1M 64k",
                "read -P 0 2M 1M")) {
            cmd.add("-c");
            cmd.add(c);
        }
        cmd.add(uri());
        String output = run(cmd.toArray(String[]::new));
        assertTrue(!output.contains("Pattern verification failed"), output);
        assertEquals((byte) 0xab, disk.bytes(MIB - 1, 1)[0]);
        assertEquals((byte) 0xcd, disk.bytes(MIB, 1)[0]);
        assertTrue(disk.calls().stream().anyMatch(c -> c.op() == MemoryBlockVolume.Op.WRITE && c.offset() == MIB
                && c.fua()), "qemu-io's FUA write must reach the volume with fua=true: " + disk.calls());
        assertTrue(disk.calls().stream().anyMatch(c -> c.op() == MemoryBlockVolume.Op.FLUSH));
        assertTrue(disk.calls().stream().anyMatch(c -> c.op() == MemoryBlockVolume.Op.WRITE_ZEROES));
        assertTrue(disk.calls().stream().anyMatch(c -> c.op() == MemoryBlockVolume.Op.TRIM));
    }

    @Test
    void fioNbdEngineVerifiesRandomWritesAtQueueDepth16() throws Exception {
        assumeInstalled("fio");
        String output = run("fio", "--name=verify", "--ioengine=nbd", "--uri=" + uri(), "--rw=randwrite",
                "--bs=4k", "--iodepth=16", "--size=8M", "--verify=crc32c", "--do_verify=1",
                "--verify_fatal=1", "--output-format=terse");
        assertTrue(!output.contains("verify failed") && !output.contains("bad magic"), output);
    }
}
