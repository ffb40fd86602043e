package io.ballast.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ballast.tests.harness.BallastNodeProcess;
import io.ballast.tests.harness.ExternalTool;
import io.ballast.tests.harness.TestDirs;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * fio's own NBD engine (libnbd) as the client: GiBs of random writes of mixed sizes, every block
 * verified with crc32c; then kill -9 of the node after fio's final flush, a restart, and a second
 * full verification pass that re-reads every byte written.
 */
class FioVerifyIT {
    private static final String VOLUME = "vol1";

    private BallastNodeProcess node;
    private Path dir;

    @BeforeEach
    void startNode() {
        ExternalTool.require("fio", "fio");
        dir = TestDirs.fresh("fio-verify");
        node = new BallastNodeProcess("node1", dir.resolve("data"), List.of("--volume", VOLUME + ":4G")).start();
    }

    @AfterEach
    void stopNode() {
        if (node != null) {
            node.close();
        }
    }

    /**
     * Two jobs over disjoint parts of a 4 GiB volume: 4 KiB random writes (QD32) over the first
     * 512 MiB, and 4 KiB–1 MiB random writes (QD8) over the next 2.5 GiB; fio writes each block once
     * (random map), flushes at the end (end_fsync -> NBD_CMD_FLUSH) and then reads back and checks
     * every block. About 6 GiB of I/O, then 3 GiB more after the crash.
     */
    @Test
    void randomWritesVerifyAndSurviveKill9AfterFlush() throws Exception {
        Path job = dir.resolve("verify.fio");
        Files.writeString(job, jobFile(node.uri(VOLUME)));

        ExternalTool.Result written = fio(job, false);
        assertNoVerifyErrors(written);
        assertTrue(bytesOf(written, "write") >= 3L << 30, "fio wrote less than 3 GiB:\n" + written.stdout());

        // Every byte was flushed by fio's end_fsync: a kill -9 now must lose nothing.
        node.kill9();
        node.start();

        ExternalTool.Result reverified = fio(job, true);
        assertNoVerifyErrors(reverified);
        assertTrue(bytesOf(reverified, "read") >= 3L << 30,
                "verify pass after restart read less than 3 GiB:\n" + reverified.stdout());
    }

    private static String jobFile(String uri) {
        return """
                [global]
                ioengine=nbd
                uri=%s
                direct=1
                verify=crc32c
                verify_fatal=1
                verify_dump=1
                do_verify=1
                end_fsync=1
                randrepeat=1
                group_reporting=0

                [small-4k]
                rw=randwrite
                bs=4k
                iodepth=32
                offset=0
                size=512m

                [mixed]
                rw=randwrite
                bsrange=4k-1m
                bs_unaligned=0
                iodepth=8
                offset=512m
                size=2560m
                """.formatted(uri);
    }

    private ExternalTool.Result fio(Path job, boolean verifyOnly) {
        List<String> cmd = new ArrayList<>(List.of("fio", "--output-format=json"));
        if (verifyOnly) {
            cmd.add("--verify_only");
        }
        cmd.add(job.toString());
        ExternalTool.Result r = ExternalTool.run(900, cmd);
        if (r.exitCode() != 0) {
            throw new AssertionError(r.describe() + "\n--- node log ---\n" + node.logText());
        }
        return r;
    }

    private static void assertNoVerifyErrors(ExternalTool.Result r) {
        Matcher err = Pattern.compile("\"error\"\\s*:\\s*(\\d+)").matcher(r.stdout());
        int jobs = 0;
        while (err.find()) {
            jobs++;
            assertEquals("0", err.group(1), "a fio job ended with an error:\n" + r.stderr());
        }
        assertEquals(2, jobs, "expected two fio jobs in the report:\n" + r.stdout());
        assertTrue(!r.stderr().contains("verify:"), "fio reported verify errors:\n" + r.stderr());
    }

    /** Sum over jobs of fio's io_bytes for one direction ("read" or "write") from its JSON report. */
    static long bytesOf(ExternalTool.Result r, String direction) {
        Matcher m = Pattern.compile("\"" + direction + "\"\\s*:\\s*\\{\\s*\"io_bytes\"\\s*:\\s*(\\d+)").matcher(r.stdout());
        long total = 0;
        while (m.find()) {
            total += Long.parseLong(m.group(1));
        }
        return total;
    }
}
