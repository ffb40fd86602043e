package io.ballast.tests.harness;

import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;

/**
 * Runs third-party programs (fio, qemu-img, nbdinfo, ...) the tests use as real peers.
 *
 * <p>A missing program skips the test with a message naming the Debian package, except under CI
 * ({@code CI=true}), where {@code .ci/run} installs them: there a missing tool is a failure, so
 * nothing silently passes.
 */
public final class ExternalTool {
    private ExternalTool() {
    }

    /** Skips (or, under CI, fails) unless {@code program} is on the PATH. */
    public static void require(String program, String debianPackage) {
        if (which(program) != null) {
            return;
        }
        String msg = "needs '" + program + "' (apt-get install " + debianPackage + ")";
        if ("true".equals(System.getenv("CI"))) {
            fail(msg + ": CI must install it (.ci/run)");
        }
        Assumptions.abort(msg);
    }

    public static Path which(String program) {
        for (String dir : System.getenv().getOrDefault("PATH", "/usr/bin:/bin").split(":")) {
            Path p = Path.of(dir, program);
            if (Files.isExecutable(p)) {
                return p;
            }
        }
        for (String dir : new String[] {"/usr/sbin", "/sbin"}) {
            Path p = Path.of(dir, program);
            if (Files.isExecutable(p)) {
                return p;
            }
        }
        return null;
    }

    /** The outcome of one run. */
    public record Result(List<String> command, int exitCode, String stdout, String stderr) {
        public Result assertSuccess() {
            if (exitCode != 0) {
                fail(describe());
            }
            return this;
        }

        public String describe() {
            return String.join(" ", command) + " exited " + exitCode
                    + "\n--- stdout ---\n" + tail(stdout) + "\n--- stderr ---\n" + tail(stderr);
        }

        private static String tail(String s) {
            return s.length() <= 8000 ? s : "..." + s.substring(s.length() - 8000);
        }
    }

    /** Runs a command to completion (killed after {@code timeoutSeconds}) and captures its output. */
    public static Result run(long timeoutSeconds, String... command) {
        return run(timeoutSeconds, List.of(command));
    }

    public static Result run(long timeoutSeconds, List<String> command) {
        try {
            Path out = Files.createTempFile("ballast-tool", ".out");
            Path err = Files.createTempFile("ballast-tool", ".err");
            try {
                Process p = new ProcessBuilder(new ArrayList<>(command))
                        .redirectOutput(out.toFile())
                        .redirectError(err.toFile())
                        .start();
                if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
                    // Children first: fio's job processes outlived a killed fio and spun for an hour.
                    p.descendants().forEach(ProcessHandle::destroyForcibly);
                    p.destroyForcibly().waitFor();
                    fail(String.join(" ", command) + " did not finish in " + timeoutSeconds + " s\n"
                            + Files.readString(err, StandardCharsets.UTF_8));
                }
                return new Result(List.copyOf(command), p.exitValue(),
                        Files.readString(out, StandardCharsets.UTF_8),
                        Files.readString(err, StandardCharsets.UTF_8));
            } finally {
                Files.deleteIfExists(out);
                Files.deleteIfExists(err);
            }
        } catch (IOException e) {
            throw new AssertionError("could not run " + command + ": " + e, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError("interrupted running " + command, e);
        }
    }
}
