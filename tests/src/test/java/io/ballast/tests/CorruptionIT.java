package io.ballast.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ballast.tests.harness.BallastNodeProcess;
import io.ballast.tests.harness.ExternalTool;
import io.ballast.tests.harness.RawNbdClient;
import io.ballast.tests.harness.TestDirs;
import java.io.RandomAccessFile;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Bit rot on disk: bytes flipped in a volume's data file while the node is down are reported to
 * the client as EIO for exactly the damaged block, never returned as data; the neighbours read
 * fine, and a full overwrite of the damaged block heals it.
 */
class CorruptionIT {
    private static final int EIO = 5;
    private BallastNodeProcess node;

    @AfterEach
    void stop() {
        if (node != null) {
            node.close();
        }
    }

    @Test
    void flippedBytesOnDiskAreAnIoErrorNotData() throws Exception {
        ExternalTool.require("qemu-io", "qemu-utils");
        Path dir = TestDirs.fresh("corruption");
        node = new BallastNodeProcess("node1", dir.resolve("data"), List.of("--volume", "vol:64M")).start();
        String uri = node.uri("vol");
        ExternalTool.run(120, "qemu-io", "-f", "raw", "-c", "write -P 0xab 0 1M", "-c", "flush", uri).assertSuccess();
        node.stopCleanly();

        Path dataFile = node.dataDir().resolve("volumes/vol/data");
        try (RandomAccessFile f = new RandomAccessFile(dataFile.toFile(), "rw")) {
            f.seek(2 * 4096 + 100); // block 2
            int b = f.read();
            f.seek(2 * 4096 + 100);
            f.write(b ^ 0x10);
        }
        node.start();

        ExternalTool.Result bad = ExternalTool.run(120, "qemu-io", "-f", "raw", "-c", "read -P 0xab 8192 4096", uri);
        assertTrue((bad.stdout() + bad.stderr()).contains("Input/output error"),
                "reading the damaged block must fail with EIO:\n" + bad.describe());
        assertTrue(!bad.stdout().contains("read 4096/4096 bytes"), "the damaged block was returned as data:\n" + bad.describe());

        ExternalTool.Result before = ExternalTool.run(120, "qemu-io", "-f", "raw", "-c", "read -P 0xab 0 8192", uri).assertSuccess();
        assertTrue(!before.stdout().contains("Pattern verification failed"), before.stdout());
        ExternalTool.Result after = ExternalTool.run(120, "qemu-io", "-f", "raw", "-c", "read -P 0xab 12288 1036288", uri).assertSuccess();
        assertTrue(!after.stdout().contains("Pattern verification failed"), after.stdout());

        try (RawNbdClient c = RawNbdClient.connect(node.socket()).handshake("vol")) {
            c.request(0, RawNbdClient.CMD_READ, 42, 8192 + 512, 512, null);
            assertEquals(EIO, c.reply(512).error(), "a partial read of the damaged block is an error too");
        }
        assertTrue(node.logText().contains("failed its checksum"), "the node must log the checksum failure");

        // a full-block overwrite replaces the damaged block: it reads back again
        ExternalTool.run(120, "qemu-io", "-f", "raw", "-c", "write -P 0xcd 8192 4096", "-c", "read -P 0xcd 8192 4096", uri)
                .assertSuccess();
    }
}
