package io.ballast.tests.harness;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/** The last lines of a log, for a failure message that shows what the process said before it failed. */
public final class LogTail {
    private LogTail() {
    }

    /** Up to {@code n} last lines of {@code log}, or a line saying it does not exist. */
    public static String of(Path log, int n) throws IOException {
        if (!Files.exists(log)) {
            return "(no " + log + ")";
        }
        List<String> all = Files.readAllLines(log, StandardCharsets.UTF_8);
        return String.join("\n", all.subList(Math.max(0, all.size() - n), all.size()));
    }
}
