package io.ballast.tests;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ballast.tests.harness.BallastNodeProcess;
import io.ballast.tests.harness.ExternalTool;
import io.ballast.tests.harness.TestDirs;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Third-party NBD clients against one real node: libnbd's nbdinfo, QEMU's qemu-img and qemu-io.
 * Each test uses its own export so they do not depend on each other's data.
 */
class NbdClientsIT {
    private static final long IMAGE_BYTES = 96L << 20;

    private static BallastNodeProcess node;
    private static Path dir;

    @BeforeAll
    static void startNode() {
        dir = TestDirs.fresh("nbd-clients");
        node = new BallastNodeProcess("node1", dir.resolve("data"), List.of(
                "--volume", "info:1G", "--volume", "qemu:128M", "--volume", "trim:512M")).start();
    }

    @AfterAll
    static void stopNode() {
        if (node != null) {
            node.close();
        }
    }

    @Test
    void nbdinfoReportsSizeBlockSizesAndFlags() {
        ExternalTool.require("nbdinfo", "libnbd-bin");
        String json = ExternalTool.run(60, "nbdinfo", "--json", node.uri("info")).assertSuccess().stdout();
        assertEquals(1L << 30, number(json, "export-size"));
        assertEquals(1, number(json, "block_size_minimum"));
        assertEquals(4096, number(json, "block_size_preferred"));
        assertEquals(32L << 20, number(json, "block_size_maximum"));
        for (String flag : new String[] {"can_flush", "can_fua", "can_trim", "can_zero", "can_multi_conn"}) {
            assertTrue(json.contains("\"" + flag + "\": true"), flag + " should be advertised:\n" + json);
        }
        assertTrue(json.contains("\"is_read_only\": false"), json);

        String list = ExternalTool.run(60, "nbdinfo", "--list", "--json", "nbd+unix://?socket=" + node.socket())
                .assertSuccess().stdout();
        for (String export : new String[] {"info", "qemu", "trim"}) {
            assertTrue(list.contains("\"export-name\": \"" + export + "\""), "NBD_OPT_LIST misses " + export + ":\n" + list);
        }
    }

    @Test
    void qemuImgConvertsAnImageInAndOutUnchanged() throws Exception {
        ExternalTool.require("qemu-img", "qemu-utils");
        Path image = dir.resolve("source.raw");
        writeImageWithHoles(image);

        ExternalTool.run(300, "qemu-img", "convert", "-n", "-f", "raw", "-O", "raw", image.toString(), node.uri("qemu"))
                .assertSuccess();
        // compare reads both sides fully; the export is larger than the image, so allow that (-s off, sizes differ ok).
        ExternalTool.run(300, "qemu-img", "compare", "-f", "raw", "-F", "raw", image.toString(), node.uri("qemu"))
                .assertSuccess();

        Path back = dir.resolve("back.raw");
        ExternalTool.run(300, "qemu-img", "convert", "-f", "raw", "-O", "raw", node.uri("qemu"), back.toString())
                .assertSuccess();
        assertEquals(128L << 20, Files.size(back));
        byte[] original = Files.readAllBytes(image);
        byte[] copied = Files.readAllBytes(back);
        byte[] prefix = java.util.Arrays.copyOf(copied, original.length);
        assertArrayEquals(original, prefix, "the image read back differs from what was written");
        for (int i = original.length; i < copied.length; i++) {
            if (copied[i] != 0) {
                throw new AssertionError("never-written byte " + i + " of the export is not zero");
            }
        }
    }

    @Test
    void discardGivesDiskSpaceBackAndReadsZeroes() {
        ExternalTool.require("qemu-io", "qemu-utils");
        String uri = node.uri("trim");
        Path volumeDir = node.dataDir();
        long before = TestDirs.allocatedBytes(volumeDir);

        ExternalTool.run(300, "qemu-io", "-f", "raw", "-c", "write -P 0xab 0 256M", "-c", "flush", uri).assertSuccess();
        long written = TestDirs.allocatedBytes(volumeDir);
        assertTrue(written - before >= 250L << 20, "256 MiB written but only " + (written - before) + " bytes allocated");

        ExternalTool.run(300, "qemu-io", "-f", "raw", "-c", "discard 0 256M", "-c", "flush", uri).assertSuccess();
        long trimmed = TestDirs.allocatedBytes(volumeDir);
        assertTrue(written - trimmed >= 250L << 20,
                "discard of 256 MiB freed only " + (written - trimmed) + " bytes (" + written + " -> " + trimmed + ")");

        ExternalTool.Result read = ExternalTool.run(300, "qemu-io", "-f", "raw", "-c", "read -P 0 0 256M", uri);
        read.assertSuccess();
        assertTrue(!read.stdout().contains("Pattern verification failed"), "discarded range does not read as zeroes:\n" + read.stdout());
    }

    @Test
    void writeZeroesWithoutHoleKeepsSpaceAllocated() {
        ExternalTool.require("qemu-io", "qemu-utils");
        String uri = node.uri("trim");
        ExternalTool.run(300, "qemu-io", "-f", "raw", "-c", "write -P 0xcd 256M 64M", "-c", "flush", uri).assertSuccess();
        long before = TestDirs.allocatedBytes(node.dataDir());
        // qemu-io "write -z" sends NBD_CMD_WRITE_ZEROES with NO_HOLE unless -u (unmap) is given.
        ExternalTool.run(300, "qemu-io", "-f", "raw", "-c", "write -z 256M 64M", "-c", "flush", uri).assertSuccess();
        long after = TestDirs.allocatedBytes(node.dataDir());
        assertTrue(before - after < 8L << 20, "write-zeroes without unmap freed " + (before - after) + " bytes");
        ExternalTool.Result read = ExternalTool.run(300, "qemu-io", "-f", "raw", "-c", "read -P 0 256M 64M", uri).assertSuccess();
        assertTrue(!read.stdout().contains("Pattern verification failed"), read.stdout());

        ExternalTool.run(300, "qemu-io", "-f", "raw", "-c", "write -z -u 256M 64M", "-c", "flush", uri).assertSuccess();
        long unmapped = TestDirs.allocatedBytes(node.dataDir());
        assertTrue(after - unmapped >= 60L << 20, "write-zeroes with unmap freed only " + (after - unmapped) + " bytes");
    }

    private static void writeImageWithHoles(Path image) throws Exception {
        Random random = new Random(42);
        try (RandomAccessFile f = new RandomAccessFile(image.toFile(), "rw")) {
            f.setLength(IMAGE_BYTES);
            byte[] chunk = new byte[1 << 20];
            for (long off = 0; off < IMAGE_BYTES; off += chunk.length) {
                if ((off >> 20) % 3 == 2) {
                    continue; // leave a hole every third MiB
                }
                random.nextBytes(chunk);
                f.seek(off);
                f.write(chunk, 0, (off >> 20) % 5 == 1 ? 12_345 : chunk.length); // and some partial MiBs
            }
        }
        assertNotEquals(0, Files.size(image));
    }

    private static long number(String json, String key) {
        Matcher m = Pattern.compile("\"" + Pattern.quote(key) + "\":\\s*(\\d+)").matcher(json);
        assertTrue(m.find(), key + " missing from nbdinfo output:\n" + json);
        return Long.parseLong(m.group(1));
    }
}
